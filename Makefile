# Convenience targets for developers; the README's scripts do not need make.
.PHONY: all test unit asan format check-format demo clean cross deb vm-test
all:
	scripts/build build
test: all
	cd build && ctest --output-on-failure
unit: all
	cd build && ctest --output-on-failure -L unit
asan:
	scripts/build build-asan -DTENDER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cd build-asan && ctest --output-on-failure
format:
	git ls-files '*.c' '*.h' | xargs clang-format -i
check-format:
	scripts/check-format
demo:
	scripts/demo
# make cross ARCH=armhf|arm64: cross-build and run the unit tests under qemu-user (scripts/cross).
cross:
	scripts/cross $(ARCH)
# make deb: the Debian packages tender and tender-tools in build-deb/packages (scripts/package).
deb:
	scripts/package build-deb
# make vm-test: the device test tier's full run, power cuts included (scripts/vm-test).
vm-test: all
	scripts/vm-test
clean:
	rm -rf build build-asan build.*.log build-asan.*.log build-armhf build-arm64 build-deb build-deb-* build-vm-deb
