# cmake -DVERSION_FILE=.../tokenguardConfigVersion.cmake -DVERSION=x.y.z -P version_check.cmake
# Runs the installed version file the way find_package does, and checks that it
# accepts its own version from a 32-bit project (architecture independent, as
# a header-only package should be) and refuses a different major version.
cmake_minimum_required(VERSION 3.21)  # the policies of find_package's caller
function(ask find_version sizeof_void_p out)
  set(PACKAGE_FIND_VERSION ${find_version})
  string(REPLACE "." ";" parts ${find_version})
  list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
  list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
  set(PACKAGE_FIND_VERSION_COUNT 2)
  set(CMAKE_SIZEOF_VOID_P ${sizeof_void_p})
  include(${VERSION_FILE})
  if(PACKAGE_VERSION_COMPATIBLE AND NOT PACKAGE_VERSION_UNSUITABLE)
    set(${out} yes PARENT_SCOPE)
  else()
    set(${out} no PARENT_SCOPE)
  endif()
endfunction()

string(REGEX MATCH "^[0-9]+\\.[0-9]+" major_minor ${VERSION})
string(REGEX MATCH "^[0-9]+" major ${VERSION})
math(EXPR other_major "${major} + 1")

ask(${major_minor} 8 same_64)
ask(${major_minor} 4 same_32)
ask(${other_major}.0 8 other)
if(NOT same_64 STREQUAL "yes" OR NOT same_32 STREQUAL "yes" OR NOT other STREQUAL "no")
  message(FATAL_ERROR "version file: ${major_minor} for 64-bit: ${same_64}, for 32-bit: "
                      "${same_32}; ${other_major}.0: ${other} (want yes, yes, no)")
endif()
message(STATUS "version file: accepts ${major_minor} on any architecture, refuses ${other_major}.0")
