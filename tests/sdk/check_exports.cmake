# A plugin built with lmforge_add_plugin exports lmf_plugin_entry and nothing else.
#   cmake -DNM=<nm> -DPLUGIN=<file.so> -P check_exports.cmake
execute_process(COMMAND ${NM} -D --defined-only ${PLUGIN}
  OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${PLUGIN}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${symbols}")
set(exported)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] +" "" name "${line}")
  list(APPEND exported ${name})
endforeach()
if(NOT exported STREQUAL "lmf_plugin_entry")
  message(FATAL_ERROR "${PLUGIN} exports [${exported}]; expected only lmf_plugin_entry")
endif()
