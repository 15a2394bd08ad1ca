# Debian packages through CPack (scripts/package builds them; docs/packaging.md):
#   tender        tenderd, tenderctl, tender-runtime, the units, /etc/tender, /var/lib/tender
#   tender-tools  tender-publish, tender-server-mock, tender-tuf
# dpkg-shlibdeps computes each package's library Depends from its binaries; the binaries are
# stripped. The maintainer scripts (packaging/deb/) enable tenderd.service.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tender)
set(CPACK_PACKAGE_VENDOR tender)
set(CPACK_PACKAGE_CONTACT "tender maintainers <tender@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tender tender-tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

set(CPACK_DEBIAN_TENDER_PACKAGE_NAME tender)
string(CONCAT CPACK_COMPONENT_TENDER_DESCRIPTION
       "over-the-air update agent for containerised apps\n"
       "tenderd polls a hawkBit DDI server, verifies releases against TUF metadata, downloads "
       "layers and deltas, swaps containers atomically, health-gates and rolls back. "
       "tenderctl is its command line and tender-runtime the OCI runtime it starts apps with.")
# deb-systemd-helper and deb-systemd-invoke (the maintainer scripts) come from init-system-helpers.
# tenderd loads libmosquitto and libmicrohttpd with dlopen() (agent/dynlib.h), invisible to
# dpkg-shlibdeps: their packages are named here so that MQTT and the monitor work once installed.
set(CPACK_DEBIAN_TENDER_PACKAGE_DEPENDS "init-system-helpers (>= 1.54)")
foreach(pkg IN ITEMS "${MOSQUITTO_PACKAGE}" "${MHD_PACKAGE}")
  if(pkg)
    string(APPEND CPACK_DEBIAN_TENDER_PACKAGE_DEPENDS ", ${pkg}")
  endif()
endforeach()
set(TENDER_DEB_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/deb)
set(CPACK_DEBIAN_TENDER_PACKAGE_CONTROL_EXTRA
    ${TENDER_DEB_SCRIPTS}/postinst ${TENDER_DEB_SCRIPTS}/prerm ${TENDER_DEB_SCRIPTS}/postrm)
set(CPACK_DEBIAN_TENDER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_TENDER-TOOLS_PACKAGE_NAME tender-tools)
set(CPACK_DEBIAN_TENDER-TOOLS_PACKAGE_SECTION devel)
string(CONCAT CPACK_COMPONENT_TENDER-TOOLS_DESCRIPTION
       "release tools and test server for tender\n"
       "tender-publish makes signed releases (TUF metadata, layers, deltas) from OCI images; "
       "tender-server-mock is a hawkBit DDI server for tests and demos; tender-tuf is a TUF client.")

include(CPack)
