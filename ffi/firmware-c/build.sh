#!/usr/bin/env bash
# Links the C firmware stub (startup.c, main.c, link.ld) against the thumbv7em static library
# with arm-none-eabi-gcc, no C library, and prints its flash: .vector_table + .text + .rodata +
# .data (+ .ARM.exidx), as .ci/size counts the Rust firmware's, and its static RAM.
#
# The library is built with the ffi crate's release profile (opt-level "z", LTO, one codegen
# unit, panic abort), the C files with -Os and the same section garbage collection.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
ffi=$(cd .. && pwd)
target=thumbv7em-none-eabihf
CC=${ARM_CC:-arm-none-eabi-gcc}
SIZE=${ARM_SIZE:-arm-none-eabi-size}
(cd "$ffi" && CARGO_TARGET_DIR=$ffi/target \
    cargo rustc --release --locked --quiet --target "$target" --crate-type staticlib)
lib=$ffi/target/$target/release/libjobpoll_ffi.a
out=$ffi/target/firmware-c
mkdir -p "$out"
flags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
"$CC" "${flags[@]}" -std=c11 -Os -g -Wall -Wextra -Werror -ffreestanding \
    -ffunction-sections -fdata-sections -I"$ffi/include" \
    -nostdlib -Wl,--gc-sections -Wl,-z,noexecstack -Wl,-Map="$out/firmware-c.map" -T "$here/link.ld" \
    "$here/startup.c" "$here/main.c" "$lib" -lgcc -o "$out/firmware-c.elf"
"$SIZE" -A "$out/firmware-c.elf" | awk '
    NR > 2 && NF >= 3 { size[$1] = $2 }
    END {
        flash = size[".vector_table"] + size[".text"] + size[".rodata"] + size[".data"] + size[".ARM.exidx"]
        printf "C firmware stub: flash %d B (.vector_table %d, .text %d, .rodata %d, .data %d, .ARM.exidx %d), static RAM %d B (.data + .bss)\n",
            flash, size[".vector_table"], size[".text"], size[".rodata"], size[".data"], size[".ARM.exidx"], size[".data"] + size[".bss"]
    }'
