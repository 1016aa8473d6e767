//go:build ignore

// The line above keeps the go command from treating this file as part of
// the Go package beside it; gcc builds it alone.

/*
 * cstream: the C side of clientbench's stream mode: libvirt's own client
 * library downloads or uploads a volume, from and into memory, in
 * 262,120-byte virStreamRecv/virStreamSend calls, as virsh's handlers do.
 *
 *   cc -O2 -o cstream cstream.c $(pkg-config --cflags --libs libvirt)
 *   cstream SOCKET POOL VOL down|up SIZE
 *
 * It prints one JSON line; cpu_seconds is getrusage (RUSAGE_SELF) over
 * the transfer only, the buffer's pages touched before the clock starts.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHUNK 262120

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
	virErrorPtr e = virGetLastError();
	fprintf(stderr, "cstream: %s: %s\n", what, e && e->message ? e->message : "?");
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: cstream SOCKET POOL VOL down|up SIZE\n");
		return 2;
	}
	char uri[1024];
	snprintf(uri, sizeof(uri), "qemu+unix:///session?socket=%s", argv[1]);
	int up = strcmp(argv[4], "up") == 0;
	unsigned long long size = strtoull(argv[5], NULL, 10);
	char *buf = malloc(size);
	if (!buf)
		return 1;
	for (unsigned long long i = 0; i < size; i++)
		buf[i] = (char)(i * 7);

	virConnectPtr conn = virConnectOpen(uri);
	if (!conn)
		die("open");
	virStoragePoolPtr pool = virStoragePoolLookupByName(conn, argv[2]);
	if (!pool)
		die("pool");
	virStorageVolPtr vol = virStorageVolLookupByName(pool, argv[3]);
	if (!vol)
		die("volume");
	virStreamPtr st = virStreamNew(conn, 0);
	if (!st)
		die("stream");

	double c0 = cpu(), t0 = now();
	unsigned long long done = 0;
	if (up) {
		if (virStorageVolUpload(vol, st, 0, size, 0) < 0)
			die("upload");
		while (done < size) {
			size_t n = size - done < CHUNK ? size - done : CHUNK;
			int k = virStreamSend(st, buf + done, n);
			if (k < 0)
				die("send");
			done += k;
		}
	} else {
		if (virStorageVolDownload(vol, st, 0, size, 0) < 0)
			die("download");
		for (;;) {
			size_t n = size - done < CHUNK ? size - done : CHUNK;
			if (n == 0)
				n = CHUNK; /* room to see the end */
			char scratch[1];
			int k = virStreamRecv(st, done < size ? buf + done : scratch, done < size ? n : 1);
			if (k < 0)
				die("recv");
			if (k == 0)
				break;
			done += k;
		}
	}
	if (virStreamFinish(st) < 0)
		die("finish");
	double secs = now() - t0, cpus = cpu() - c0;
	printf("{\"client\":\"c\",\"op\":\"%s\",\"bytes\":%llu,\"seconds\":%.6f,\"cpu_seconds\":%.6f}\n",
	       argv[4], done, secs, cpus);
	virStreamFree(st);
	virStorageVolFree(vol);
	virStoragePoolFree(pool);
	virConnectClose(conn);
	return 0;
}
