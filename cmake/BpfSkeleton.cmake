# Builds CO-RE BPF objects and their libbpf skeletons. Everything generated (vmlinux.h, .bpf.o,
# .skel.h) lives in the build tree.
find_program(BPFTOOL_EXE NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_program(BPF_CLANG_EXE NAMES clang clang-14 REQUIRED)

set(STOCKADE_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF of the kernel to build CO-RE probes against")
set(STOCKADE_BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
file(MAKE_DIRECTORY ${STOCKADE_BPF_GEN_DIR})

if(NOT EXISTS ${STOCKADE_VMLINUX_BTF})
  message(FATAL_ERROR "No kernel BTF at ${STOCKADE_VMLINUX_BTF}: stockade's probes need a kernel built "
                      "with CONFIG_DEBUG_INFO_BTF=y, or -DSTOCKADE_VMLINUX_BTF=<file>.")
endif()

add_custom_command(
  OUTPUT ${STOCKADE_BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL_EXE} btf dump file ${STOCKADE_VMLINUX_BTF} format c > ${STOCKADE_BPF_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${STOCKADE_BPF_GEN_DIR}/vmlinux.h.tmp ${STOCKADE_BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${STOCKADE_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(stockade_vmlinux_h DEPENDS ${STOCKADE_BPF_GEN_DIR}/vmlinux.h)

# stockade_bpf_skeleton(NAME <name> SOURCE <file.bpf.c> [DEPENDS <headers>...])
# Compiles SOURCE to <name>.bpf.o and generates <name>.skel.h; defines the INTERFACE target
# <name>_skel that carries the include directory.
function(stockade_bpf_skeleton)
  cmake_parse_arguments(ARG "" "NAME;SOURCE" "DEPENDS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_SOURCE)
    message(FATAL_ERROR "stockade_bpf_skeleton: NAME and SOURCE are required")
  endif()
  set(obj ${STOCKADE_BPF_GEN_DIR}/${ARG_NAME}.bpf.o)
  set(skel ${STOCKADE_BPF_GEN_DIR}/${ARG_NAME}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG_EXE} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            -I${STOCKADE_BPF_GEN_DIR} -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/bpf
            -c ${ARG_SOURCE} -o ${obj}
    DEPENDS ${ARG_SOURCE} ${ARG_DEPENDS} ${STOCKADE_BPF_GEN_DIR}/vmlinux.h
    IMPLICIT_DEPENDS C ${ARG_SOURCE}
    COMMENT "BPF ${ARG_NAME}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL_EXE} gen skeleton ${obj} name ${ARG_NAME} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${ARG_NAME}.skel.h"
    VERBATIM)
  add_custom_target(${ARG_NAME}_skel_gen DEPENDS ${skel})
  # vmlinux.h is made by a custom command of the top directory. Ninja follows such an output
  # across directories; the Makefile generators do not ("No rule to make target vmlinux.h") unless
  # a target-level dependency builds it first.
  add_dependencies(${ARG_NAME}_skel_gen stockade_vmlinux_h)
  add_library(${ARG_NAME}_skel INTERFACE)
  add_dependencies(${ARG_NAME}_skel ${ARG_NAME}_skel_gen)
  target_include_directories(${ARG_NAME}_skel INTERFACE ${STOCKADE_BPF_GEN_DIR})
endfunction()
