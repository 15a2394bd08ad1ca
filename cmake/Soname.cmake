# tender_dynlib(PREFIX): for a library that pkg_check_modules(PREFIX ...) found and tenderd loads
# with dlopen() only when its feature is configured (agent/dynlib.h), sets
#   PREFIX_SONAME   the SONAME of the shared library the build would have linked (readelf -d), so
#                   that cross builds and other distributions load the right one;
#   PREFIX_PACKAGE  the Debian package that holds it (dpkg-query -S; empty off Debian): the package
#                   Depends on it by hand, since dpkg-shlibdeps sees no NEEDED entry any more.
function(tender_dynlib prefix)
  find_program(TENDER_READELF NAMES ${CMAKE_READELF} readelf REQUIRED)
  foreach(lib IN LISTS ${prefix}_LINK_LIBRARIES)
    if(lib MATCHES "\\.so$")
      file(REAL_PATH "${lib}" real)
      execute_process(COMMAND ${TENDER_READELF} -d "${real}" OUTPUT_VARIABLE out
                      RESULT_VARIABLE rc ERROR_QUIET)
      if(rc EQUAL 0 AND out MATCHES "Library soname: \\[([^]]+)\\]")
        set(soname ${CMAKE_MATCH_1})
        get_filename_component(dir "${real}" DIRECTORY)
        set(package "")
        find_program(TENDER_DPKG_QUERY dpkg-query)
        if(TENDER_DPKG_QUERY)
          execute_process(COMMAND ${TENDER_DPKG_QUERY} -S "${dir}/${soname}" OUTPUT_VARIABLE pkg
                          RESULT_VARIABLE rc ERROR_QUIET)
          if(rc EQUAL 0 AND pkg MATCHES "^([^:,]+)")
            set(package ${CMAKE_MATCH_1})
          endif()
        endif()
        set(${prefix}_SONAME ${soname} PARENT_SCOPE)
        set(${prefix}_PACKAGE "${package}" PARENT_SCOPE)
        message(STATUS "${prefix}: loaded at run time as ${soname} (package ${package})")
        return()
      endif()
    endif()
  endforeach()
  message(FATAL_ERROR "${prefix}: no shared library with a SONAME in '${${prefix}_LINK_LIBRARIES}'; "
                      "tenderd loads it at run time (agent/dynlib.h)")
endfunction()
