# The vendor workflow as a test (cmake -P): what a vendor does with an lmforge SDK.
#
#   1. cmake --install <lmforge build> --component sdk --prefix <tmp>/sdk
#      and check the prefix holds headers and the CMake package only;
#   2. cmake -S sdk/examples/int8_rtn -B <tmp>/build-vendor -DCMAKE_PREFIX_PATH=<tmp>/sdk
#      and build it: the plugin compiles against the installed SDK alone;
#   3. LMF_CONFORMANCE_PLUGIN=<the plugin> lmf_quantizer_conformance.
#
# Arguments (-D): CONFORMANCE (the suite's executable), BUILD_DIR (the lmforge build),
# EXAMPLE_DIR, GENERATOR, CMAKE (the cmake to run), LIBDIR (CMAKE_INSTALL_LIBDIR of the
# build), WORK_DIR (emptied first; everything is written there).
foreach(argument CONFORMANCE BUILD_DIR EXAMPLE_DIR GENERATOR CMAKE LIBDIR WORK_DIR)
  if(NOT DEFINED ${argument} OR "${${argument}}" STREQUAL "")
    message(FATAL_ERROR "vendor_workflow.cmake: -D${argument}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/sdk)
set(vendor_build ${WORK_DIR}/build-vendor)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs one step, failing the test with the step's name and output when it fails.
function(step name)
  message(STATUS "vendor workflow: ${name}")
  message(STATUS "  $ ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "vendor workflow: '${name}' failed (${result})")
  endif()
endfunction()

# The example's sources before, to check that nothing is written into them.
file(GLOB_RECURSE sources_before LIST_DIRECTORIES true RELATIVE ${EXAMPLE_DIR} ${EXAMPLE_DIR}/*)

# --- 1. install the SDK -------------------------------------------------------------------
step("install the SDK" ${CMAKE} --install ${BUILD_DIR} --component sdk --prefix ${prefix})

file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
set(package_dir ${LIBDIR}/cmake/LMForgeSDK)
foreach(file IN LISTS installed)
  if(file MATCHES "^include/lmf/.*\\.h$" OR file MATCHES "^${package_dir}/[^/]+\\.cmake$"
     OR file STREQUAL "${package_dir}/lmforge_plugin.map")
    continue()
  endif()
  message(FATAL_ERROR "the SDK prefix holds '${file}', which is neither an include/lmf header "
                      "nor part of ${package_dir}: `--component sdk` must install the headers "
                      "and the CMake package only (no libraries, no executables)")
endforeach()
foreach(required include/lmf/lmf.h include/lmf/lmf_quantizer.h include/lmf/sdk/quantizer.h
                 ${package_dir}/LMForgeSDKConfig.cmake ${package_dir}/LMForgePlugin.cmake)
  if(NOT EXISTS ${prefix}/${required})
    message(FATAL_ERROR "the SDK prefix lacks ${required}")
  endif()
endforeach()

# --- 2. build the example out of tree against the prefix alone ----------------------------
step("configure the example out of tree"
  ${CMAKE} -S ${EXAMPLE_DIR} -B ${vendor_build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
    # A vendor's machine has no lmforge installed: only the prefix may provide it.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${vendor_build}/CMakeCache.txt sdk_dir REGEX "^LMForgeSDK_DIR:")
string(REGEX REPLACE "^[^=]*=" "" sdk_dir "${sdk_dir}")
if(NOT sdk_dir STREQUAL "${prefix}/${package_dir}")
  message(FATAL_ERROR "the example found LMForgeSDK in '${sdk_dir}', not in ${prefix}/${package_dir}")
endif()

step("build the example" ${CMAKE} --build ${vendor_build})

# The plugin must have been compiled from the installed headers, not the lmforge sources.
get_filename_component(source_root ${EXAMPLE_DIR}/../../.. ABSOLUTE)
file(GLOB_RECURSE build_files ${vendor_build}/*.ninja ${vendor_build}/*.make
     ${vendor_build}/*/flags.make ${vendor_build}/compile_commands.json)
foreach(build_file IN LISTS build_files)
  file(READ ${build_file} text)
  foreach(tree_include ${source_root}/sdk/include ${source_root}/plugin_api/include)
    string(FIND "${text}" "${tree_include}" found)
    if(NOT found EQUAL -1)
      message(FATAL_ERROR "${build_file} uses ${tree_include}: the out-of-tree build must use "
                          "the installed SDK only")
    endif()
  endforeach()
endforeach()

file(GLOB plugins ${vendor_build}/*.so)
list(LENGTH plugins plugin_count)
if(NOT plugin_count EQUAL 1)
  message(FATAL_ERROR "expected one plugin in ${vendor_build}, found: ${plugins}")
endif()

# --- 3. the conformance suite on the vendor's plugin --------------------------------------
step("run the quantizer conformance suite on ${plugins}"
  ${CMAKE} -E env LMF_CONFORMANCE_PLUGIN=${plugins} ${CONFORMANCE})

file(GLOB_RECURSE sources_after LIST_DIRECTORIES true RELATIVE ${EXAMPLE_DIR} ${EXAMPLE_DIR}/*)
if(NOT sources_before STREQUAL sources_after)
  message(FATAL_ERROR "the workflow changed ${EXAMPLE_DIR}: before '${sources_before}', "
                      "after '${sources_after}'")
endif()
message(STATUS "vendor workflow: passed")
