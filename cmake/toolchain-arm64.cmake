# Cross-build for Debian arm64 (aarch64-linux-gnu) with Debian's cross compiler and the arm64 -dev
# packages installed through multiarch (scripts/cross arm64 installs both). Tests run under
# qemu-aarch64-static (qemu-user-static), which loads the arm64 libraries from their multiarch paths.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
# pkg-config reads the arm64 .pc files only (its PKG_CONFIG_LIBDIR replaces the host's).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# The Debian package's architecture (scripts/cross --package).
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
