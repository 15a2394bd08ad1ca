# Man pages from man/*.scd (scdoc, Debian's package scdoc), gzipped into <build>/man and installed
# with the package of the binary they describe. Without scdoc the build goes on without them;
# scripts/package requires it (TENDER_MAN=ON).
set(TENDER_MAN AUTO CACHE STRING "Build the man pages: ON, OFF or AUTO (when scdoc is found)")
find_program(SCDOC scdoc)
if(TENDER_MAN STREQUAL "ON" AND NOT SCDOC)
  message(FATAL_ERROR "TENDER_MAN=ON needs scdoc: apt-get install scdoc (or scripts/install-deps)")
endif()
if(SCDOC AND NOT TENDER_MAN STREQUAL "OFF")
  file(GLOB TENDER_MAN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.scd)
  set(TENDER_MAN_PAGES)
  foreach(src ${TENDER_MAN_SOURCES})
    get_filename_component(page ${src} NAME_WLE) # tenderd.8
    string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
    set(out ${PROJECT_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${out} DEPENDS ${src}
                       COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
                       COMMAND sh -c "'${SCDOC}' < '${src}' | gzip -9n > '${out}'"
                       COMMENT "scdoc ${page}" VERBATIM)
    list(APPEND TENDER_MAN_PAGES ${out})
    # The release tools' pages go with tender-tools, the device's with tender.
    if(page MATCHES "^tender-(publish|server-mock)\\.")
      set(component tender-tools)
    else()
      set(component tender)
    endif()
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${component})
  endforeach()
  add_custom_target(man ALL DEPENDS ${TENDER_MAN_PAGES})
endif()
