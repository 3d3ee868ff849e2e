# lmforge_add_plugin(<target> SOURCES <files...> [LINK <libs...>] [OUTPUT_DIRECTORY <dir>]
#                    [NO_INSTALL])
#
# Builds a plugin: a MODULE library that links lmforge::sdk, exports exactly one symbol
# (lmf_plugin_entry: everything else hidden) and resolves all of its symbols at link
# time, since a plugin links nothing from the host (docs/writing-a-plugin.md).
# Used the same way in the lmforge tree and by vendors through find_package(LMForgeSDK).
# It installs into <prefix>/lib/lmforge/plugins (LMF_PLUGIN_INSTALL_DIR), where an
# installed host looks; NO_INSTALL is for test fixtures.
include(GNUInstallDirs)
if(NOT DEFINED LMF_PLUGIN_INSTALL_DIR)
  set(LMF_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/lmforge/plugins)
endif()
# Exports exactly one symbol, even for C++ plugins whose template instantiations would
# otherwise leak weak and GNU-unique symbols into the process's global scope.
set(LMF_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/lmforge_plugin.map)
function(lmforge_add_plugin target)
  cmake_parse_arguments(PLUGIN "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LINK" ${ARGN})
  if(NOT PLUGIN_SOURCES)
    message(FATAL_ERROR "lmforge_add_plugin(${target}): SOURCES is required")
  endif()
  add_library(${target} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${target} PRIVATE lmforge::sdk ${PLUGIN_LINK})
  set_target_properties(${target} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON)
  if(NOT LMF_SANITIZE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined
      -Wl,--version-script=${LMF_PLUGIN_VERSION_SCRIPT})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${LMF_PLUGIN_VERSION_SCRIPT})
  endif()
  if(PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PLUGIN_OUTPUT_DIRECTORY})
  elseif(DEFINED LMF_PLUGIN_BUILD_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${LMF_PLUGIN_BUILD_DIR})
  endif()
  if(NOT PLUGIN_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${LMF_PLUGIN_INSTALL_DIR} COMPONENT plugins)
  endif()
endfunction()
