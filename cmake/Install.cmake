# What `cmake --install` and the Debian packages put where (docs/packaging.md).
#
# The binaries go to ${CMAKE_INSTALL_BINDIR} under the prefix (/usr/local by default, /usr for
# the packages: scripts/package). The systemd units name the binaries by their installed path, so
# they are written into the build tree with that path and installed where systemd looks for units
# of that prefix. Configure with the prefix you install to (`cmake --install --prefix` changes
# where the files go, not the paths the units name). The configuration (/etc/tender) and the store (/var/lib/tender) are the paths
# tenderd uses by default (include/tender/config.h, lib/config.c), whatever the prefix.

set(TENDER_CONFIG_DIR /etc/tender)
set(TENDER_STATE_DIR /var/lib/tender)

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(TENDER_SYSTEMD_DEFAULT_UNIT_DIR systemd systemdsystemunitdir)
endif()
if(NOT TENDER_SYSTEMD_DEFAULT_UNIT_DIR)
  set(TENDER_SYSTEMD_DEFAULT_UNIT_DIR lib/systemd/system) # systemd reads /usr/local/lib/systemd too
endif()
set(TENDER_SYSTEMD_UNIT_DIR ${TENDER_SYSTEMD_DEFAULT_UNIT_DIR}
    CACHE PATH "Where the systemd units are installed")

# The units in systemd/ name /usr/bin and /usr/share/doc/tender; the installed ones name the
# installed binaries and documents.
file(GLOB TENDER_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/systemd/*.service)
foreach(unit ${TENDER_UNITS})
  get_filename_component(name ${unit} NAME)
  file(READ ${unit} text)
  string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" text "${text}")
  string(REPLACE "file:///usr/share/doc/tender/" "file://${CMAKE_INSTALL_FULL_DOCDIR}/" text
                 "${text}")
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/systemd/${name} CONTENT "${text}")
  install(FILES ${PROJECT_BINARY_DIR}/systemd/${name} DESTINATION ${TENDER_SYSTEMD_UNIT_DIR}
          COMPONENT tender)
endforeach()

# The directories tenderd expects; the store's is private to root (docs/store.md).
install(DIRECTORY DESTINATION ${TENDER_CONFIG_DIR} COMPONENT tender)
install(DIRECTORY DESTINATION ${TENDER_STATE_DIR} COMPONENT tender
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
# The units' Documentation= points at these.
install(FILES ${PROJECT_SOURCE_DIR}/docs/agent.md ${PROJECT_SOURCE_DIR}/docs/store.md
              ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/runtime.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tender)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/agent.json.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples RENAME agent.json COMPONENT tender)

install(FILES ${PROJECT_SOURCE_DIR}/docs/publisher.md ${PROJECT_SOURCE_DIR}/docs/server-mock.md
              ${PROJECT_SOURCE_DIR}/docs/fleet.md
              ${PROJECT_SOURCE_DIR}/docs/tuf.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/tender-tools COMPONENT tender-tools)

include(cmake/Man.cmake)
include(cmake/Packaging.cmake)
