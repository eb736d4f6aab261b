# Every bpf/*.bpf.h compiles on its own (it includes what it uses): run with cmake -P and
# -DCLANG=<clang> -DSRC=<source dir> -DGEN=<dir of vmlinux.h> -DOUT=<scratch dir>.
file(GLOB headers ${SRC}/bpf/*.bpf.h)
file(MAKE_DIRECTORY ${OUT})
foreach(header IN LISTS headers)
  get_filename_component(name ${header} NAME)
  file(WRITE ${OUT}/${name}.c "#include \"${name}\"\n")
  execute_process(COMMAND ${CLANG} -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -fsyntax-only
                          -I${GEN} -I${SRC}/include -I${SRC}/bpf ${OUT}/${name}.c
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "bpf/${name} does not compile on its own:\n${err}")
  endif()
endforeach()
list(LENGTH headers count)
message(STATUS "${count} BPF headers compile on their own")
