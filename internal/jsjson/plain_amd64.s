//go:build !purego

#include "textflag.h"

// func plainBlocksAVX2(b []byte, high uint64) int
//
// Two 32-byte AVX2 compares per 64-byte block. A byte is special when it
// equals '"' or '\\', is at most 0x1f (min(x, 0x1f) == x), or, with high
// set to 0x8080808080808080, has its top bit set.
TEXT ·plainBlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	ANDQ $~63, CX
	XORQ DX, DX
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X8
	VPBROADCASTQ X8, Y8
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X9
	VPBROADCASTQ X9, Y9
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X10
	VPBROADCASTQ X10, Y10
	MOVQ high+24(FP), AX
	MOVQ AX, X11
	VPBROADCASTQ X11, Y11

loop:
	CMPQ DX, CX
	JAE  none
	VMOVDQU 0(SI)(DX*1), Y0
	VMOVDQU 32(SI)(DX*1), Y1

	VPCMPEQB Y8, Y0, Y2
	VPCMPEQB Y9, Y0, Y3
	VPOR     Y3, Y2, Y2
	VPMINUB  Y10, Y0, Y3
	VPCMPEQB Y0, Y3, Y3
	VPOR     Y3, Y2, Y2
	VPAND    Y11, Y0, Y3
	VPOR     Y3, Y2, Y2

	VPCMPEQB Y8, Y1, Y4
	VPCMPEQB Y9, Y1, Y5
	VPOR     Y5, Y4, Y4
	VPMINUB  Y10, Y1, Y5
	VPCMPEQB Y1, Y5, Y5
	VPOR     Y5, Y4, Y4
	VPAND    Y11, Y1, Y5
	VPOR     Y5, Y4, Y4

	VPMOVMSKB Y2, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ  BX, AX
	JNZ  found
	ADDQ $64, DX
	JMP  loop

found:
	BSFQ AX, AX
	ADDQ DX, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

none:
	MOVQ CX, ret+32(FP)
	VZEROUPPER
	RET

// func asciiBlocksAVX2(b []byte) int
//
// The index of the first byte from 0x80 up in the whole 64-byte blocks of
// b, or their length: the top bits of two 32-byte loads, or-ed.
TEXT ·asciiBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	ANDQ $~63, CX
	XORQ DX, DX

aloop:
	CMPQ DX, CX
	JAE  anone
	VMOVDQU 0(SI)(DX*1), Y0
	VPOR    32(SI)(DX*1), Y0, Y1
	VPMOVMSKB Y1, AX
	TESTL AX, AX
	JNZ  afound
	ADDQ $64, DX
	JMP  aloop

afound:
	VPMOVMSKB Y0, AX
	VMOVDQU 32(SI)(DX*1), Y1
	VPMOVMSKB Y1, BX
	SHLQ $32, BX
	ORQ  BX, AX
	BSFQ AX, AX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

anone:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET
