# Install rules: the library, its public headers as <prefix>/include/hopfield/<folder>/<file>.h, the CMake
# package (find_package(hopfield CONFIG) -> hopfield::hopfield) and hopfield.pc for pkg-config.
#   cmake --install build --prefix P
include(CMakePackageConfigHelpers)

set(HOPFIELD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hopfield)

install(TARGETS hopfield EXPORT hopfieldTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Every header below hopfield/ (recursively, so new folders and files are picked up without a change here),
# with its folder: include/hopfield/engine/tensor.h, ..., include/hopfield/hopfield.h (the umbrella).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/hopfield/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hopfield
  FILES_MATCHING PATTERN "*.h"
  PATTERN "fuzz" EXCLUDE)
install(EXPORT hopfieldTargets NAMESPACE hopfield:: FILE hopfieldTargets.cmake DESTINATION ${HOPFIELD_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hopfieldConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hopfieldConfig.cmake INSTALL_DESTINATION ${HOPFIELD_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same major.minor satisfies a request.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hopfieldConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hopfieldConfig.cmake ${PROJECT_BINARY_DIR}/hopfieldConfigVersion.cmake
  DESTINATION ${HOPFIELD_CMAKE_DIR})

# hopfield.pc finds its prefix relative to itself (${pcfiledir}), so `cmake --install --prefix P` can move
# it anywhere. A static library must name OpenBLAS in Requires (plain `pkg-config --libs` would miss it);
# a shared one keeps it private.
set(_pc_up "..")  # from <libdir>/pkgconfig back to the prefix
string(REPLACE "/" ";" _libdir_parts "${CMAKE_INSTALL_LIBDIR}")
foreach(_part IN LISTS _libdir_parts)
  string(APPEND _pc_up "/..")
endforeach()
set(HOPFIELD_PC_PREFIX "\${pcfiledir}/${_pc_up}")
if(BUILD_SHARED_LIBS)
  set(HOPFIELD_PC_REQUIRES "xtensor")
  set(HOPFIELD_PC_REQUIRES_PRIVATE "openblas")
else()
  set(HOPFIELD_PC_REQUIRES "xtensor, openblas")
  set(HOPFIELD_PC_REQUIRES_PRIVATE "")
endif()
# With MPI the static library also needs libmpi: Debian's OpenMPI ships mpi-c.pc (an alternative naming the
# installed MPI).
if(HOPFIELD_MPI)
  pkg_check_modules(HOPFIELD_MPI_PC QUIET mpi-c)
  if(HOPFIELD_MPI_PC_FOUND)
    if(BUILD_SHARED_LIBS)
      set(HOPFIELD_PC_REQUIRES_PRIVATE "openblas, mpi-c")
    else()
      set(HOPFIELD_PC_REQUIRES "xtensor, openblas, mpi-c")
    endif()
  else()
    message(WARNING "HOPFIELD_MPI: no mpi-c.pc found; hopfield.pc will not name MPI (pkg-config users of the static library must add it)")
  endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/hopfield.pc.in ${PROJECT_BINARY_DIR}/hopfield.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hopfield.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
