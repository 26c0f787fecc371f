/* Minimal Cortex-M4F start-up for the C firmware stub: the vector table, a reset handler that
 * copies .data, zeroes .bss, enables the FPU (the library is built for the hard-float ABI) and
 * calls main, and a default handler that parks the core. No C library is linked. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void reset_handler(void);

static void default_handler(void) {
    for (;;) {
    }
}

/* Initial stack pointer, then the 15 system exceptions (reset first). */
__attribute__((section(".vector_table"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), reset_handler,   default_handler, default_handler,
    default_handler,            default_handler, default_handler, 0,
    0,                          0,               0,               default_handler,
    default_handler,            0,               default_handler, default_handler,
};

void reset_handler(void) {
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    main();
    for (;;) __asm__ volatile("wfi");
}
