# The Debian package (`make deb`; docs/operations.md, "Packaging"): natterd and natter,
# libnatter (the shared library and its headers), the systemd unit, /etc/natter/natter.toml
# and the maintainer scripts in deploy/debian/. Everything it holds is installed in the
# component "natter", and only that component is packaged: nothing else (tests, the
# benchmark, the JVM binding) can end up in it.
set(NATTER_DEBIAN_DIR ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian)

# Relative destinations land under /usr (CPACK_PACKAGING_INSTALL_PREFIX); the library in
# Debian's multiarch directory (lib/x86_64-linux-gnu).
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(NATTER_INSTALL_LIBDIR lib/${CMAKE_LIBRARY_ARCHITECTURE})
else()
  set(NATTER_INSTALL_LIBDIR lib)
endif()

install(TARGETS natterd natter RUNTIME DESTINATION bin COMPONENT natter)
install(TARGETS natter_client_shared LIBRARY DESTINATION ${NATTER_INSTALL_LIBDIR} COMPONENT natter)
# The public headers: the C API (natter.h) and the C++ one (client.h).
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/libnatter/include/natter/natter.h
              ${CMAKE_CURRENT_SOURCE_DIR}/libnatter/include/natter/client.h
        DESTINATION include/natter COMPONENT natter)
install(FILES ${NATTER_DEBIAN_DIR}/natterd.service DESTINATION /lib/systemd/system COMPONENT natter)
# A conffile (deploy/debian/conffiles); postinst gives it the group natter.
install(FILES ${NATTER_DEBIAN_DIR}/natter.toml DESTINATION /etc/natter
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT natter)

# /usr/share/doc/natter: the license, the notice, and Debian's copyright file.
set(NATTER_DEB_COPYRIGHT ${CMAKE_CURRENT_BINARY_DIR}/debian/copyright)
file(WRITE ${NATTER_DEB_COPYRIGHT}
     "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
     "Upstream-Name: natter\n\n"
     "Files: *\n"
     "Copyright: 2026 the natter authors\n"
     "License: Apache-2.0\n\n"
     "License: Apache-2.0\n"
     " On Debian systems, the complete text of the Apache License 2.0 is in\n"
     " /usr/share/common-licenses/Apache-2.0 and in /usr/share/doc/natter/LICENSE.\n"
     " The third-party libraries natter uses, and their licenses, are listed in\n"
     " /usr/share/doc/natter/NOTICE.\n")
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE ${CMAKE_CURRENT_SOURCE_DIR}/NOTICE ${NATTER_DEB_COPYRIGHT}
        DESTINATION share/doc/natter COMPONENT natter)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME natter)
set(CPACK_PACKAGE_VENDOR "the natter authors")
set(CPACK_PACKAGE_CONTACT "natter <dev@natter.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hostable chat server for mobile apps")
# The long description, under the summary.
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
       "natterd delivers messages over WebSocket with durable per-conversation\n"
       "ordering: direct chats, groups and channels, offline sync, push\n"
       "notifications through APNs and FCM. The package also holds the natter\n"
       "command-line client and libnatter, the client library with its C API.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # natter_<version>_<arch>.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Library dependencies from dpkg-shlibdeps; adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# The conffile list, the maintainer scripts, and the ldconfig trigger for libnatter.so.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${NATTER_DEBIAN_DIR}/conffiles ${NATTER_DEBIAN_DIR}/postinst ${NATTER_DEBIAN_DIR}/prerm
    ${NATTER_DEBIAN_DIR}/postrm ${NATTER_DEBIAN_DIR}/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# One package of the component "natter" only (build dir; project; component; subdirectory).
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};natter;natter;/")
include(CPack)
