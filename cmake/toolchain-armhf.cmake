# Cross-build for Debian armhf (arm-linux-gnueabihf) with Debian's cross compiler and the armhf -dev
# packages installed through multiarch (scripts/cross armhf installs both). Tests run under
# qemu-arm-static (qemu-user-static), which loads the armhf libraries from their multiarch paths.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm-static)
# pkg-config reads the armhf .pc files only (its PKG_CONFIG_LIBDIR replaces the host's).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# The Debian package's architecture (scripts/cross --package).
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
