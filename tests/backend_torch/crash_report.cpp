// Prints a backtrace when a test crashes (SIGSEGV, SIGBUS, SIGABRT), so that a crash on
// the GPU machine, where there is no debugger, says where it happened
// (`addr2line -e lmf_backend_torch_tests ADDRESS` names the line).
#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <initializer_list>

namespace {

void print_backtrace(int signal_number) {
  void* frames[64];
  const int count = backtrace(frames, 64);
  const char header[] = "\n*** fatal signal; backtrace:\n";
  (void)!write(STDERR_FILENO, header, sizeof header - 1);
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// On its own stack, so that a stack overflow is reported too.
const bool installed = [] {
  static char alternate_stack[1 << 16];
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_handler = print_backtrace;
  action.sa_flags = SA_ONSTACK;
  for (int s : {SIGSEGV, SIGBUS, SIGABRT}) sigaction(s, &action, nullptr);
  return true;
}();

}  // namespace
