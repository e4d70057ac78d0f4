/*
 * A stand-in bcryptprimitives.dll for Wine 8 (Debian 12), used only by
 * packaging/windows/wine-check.sh; never shipped.
 *
 * Go 1.22 and newer get their random bytes from ProcessPrng in
 * bcryptprimitives.dll (Windows 10 and later). Wine 8 has no such DLL, so a
 * Go program stops at start with "fatal error: bcryptprimitives.dll not
 * found". This DLL exports ProcessPrng and forwards it to RtlGenRandom
 * (SystemFunction036 in advapi32), which Wine has. Later Wine versions ship
 * their own bcryptprimitives.dll.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -nostdlib -Wl,-e,DllMain \
 *       -o bcryptprimitives.dll bcryptprimitives.c bcryptprimitives.def -ladvapi32 -lkernel32
 */
#include <windows.h>

/* RtlGenRandom's real name: advapi32 exports it as SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills data with len random bytes. Windows' never fails; this one
 * returns FALSE only if RtlGenRandom does. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
