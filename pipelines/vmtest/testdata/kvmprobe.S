# The KVM probe: a multiboot image QEMU boots directly (-kernel). It switches to 64-bit
# long mode, counts down from 2^26 and writes 42 to QEMU's isa-debug-exit port (0xf4), so
# QEMU exits with status 85 (42<<1|1). Where KVM really runs guests this takes well under
# a second; where /dev/kvm exists but guests crawl or hang, the probe's deadline passes.
# Assembled into kvmProbe in kvm.go (TestKVMProbeMatchesSource checks the bytes):
#   as --32 -o kvmprobe.o kvmprobe.S
#   ld -m elf_i386 -Ttext=0x100000 --oformat binary -o kvmprobe.bin kvmprobe.o
.code32
.text
.globl _start
.set MAGIC, 0x1BADB002
.set FLAGS, 0x00010000          # the load addresses below are valid (a.out kludge)
_start:
  .long MAGIC
  .long FLAGS
  .long -(MAGIC+FLAGS)
  .long _start                  # header_addr
  .long _start                  # load_addr
  .long 0                       # load_end_addr: the whole file
  .long 0                       # bss_end_addr: none
  .long start                   # entry_addr
start:
  mov $0x200000, %edi           # page tables at 2 MiB: PML4, PDPT, PD
  xor %eax, %eax
  mov $0xc00, %ecx
  rep stosl
  movl $0x201003, 0x200000
  movl $0x202003, 0x201000
  movl $0x000083, 0x202000      # identity-map the first 4 MiB with 2 MiB pages
  movl $0x200083, 0x202008
  mov %cr4, %eax
  or $0x20, %eax                # PAE
  mov %eax, %cr4
  mov $0x200000, %eax
  mov %eax, %cr3
  mov $0xC0000080, %ecx         # EFER.LME
  rdmsr
  or $0x100, %eax
  wrmsr
  mov %cr0, %eax
  or $0x80000001, %eax          # paging and protection on: long mode
  mov %eax, %cr0
  lgdt gdtr
  ljmp $0x08, $long
.code64
long:
  mov $0x4000000, %ecx
1:
  dec %ecx
  jnz 1b
  movabs $0x2a00000000, %rax    # only 64-bit code gets 42 out of this
  shr $32, %rax
  out %al, $0xf4
2:
  hlt
  jmp 2b
.align 8
gdt:
  .quad 0
  .quad 0x00AF9A000000FFFF      # 64-bit code segment
gdtr:
  .word gdtr - gdt - 1
  .long gdt
