//go:build ignore

// The line above keeps the go command from treating this file as part of
// the Go package beside it (a non-cgo package may hold no C files); gcc
// builds it alone.

/*
 * cclient: the C side of clientbench, libvirt's own client library over one
 * connection. It does what the Go clients do and prints the same JSON line.
 *
 *   cc -O2 -o cclient cclient.c $(pkg-config --cflags --libs libvirt) -lpthread
 *   cclient SOCKET CASE N WARMUP
 *
 * CASE is version, version16 (16 threads sharing the one virConnectPtr),
 * getinfo (domain "test"), list (virConnectListAllDomains, each returned
 * virDomainPtr freed, as a program must) or connect (a connection of its
 * own per call: open, virConnectGetLibVersion, close). cpu_seconds is
 * getrusage (RUSAGE_SELF, all threads) over the timed calls only.
 *
 *   cclient SOCKET oneshot
 *
 * opens, asks the version, closes and exits: the process mode's client.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define IN_FLIGHT 16

enum bench_case { CASE_VERSION, CASE_GETINFO, CASE_LIST, CASE_CONNECT };

static char uri[512];

static virConnectPtr conn;
static virDomainPtr dom;
static enum bench_case which;
static int list_want = -1;

/* one_call makes one call of the case; 0 on success. */
static int one_call(void)
{
	switch (which) {
	case CASE_VERSION: {
		unsigned long lib;
		return virConnectGetLibVersion(conn, &lib);
	}
	case CASE_GETINFO: {
		virDomainInfo info;
		return virDomainGetInfo(dom, &info);
	}
	case CASE_CONNECT: {
		virConnectPtr c = virConnectOpen(uri);
		unsigned long lib;
		if (!c)
			return -1;
		int rc = virConnectGetLibVersion(c, &lib);
		if (virConnectClose(c) < 0)
			rc = -1;
		return rc;
	}
	case CASE_LIST: {
		virDomainPtr *doms = NULL;
		int n = virConnectListAllDomains(conn, &doms, 0);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++)
			virDomainFree(doms[i]);
		free(doms);
		if (list_want >= 0 && n != list_want) {
			fprintf(stderr, "cclient: listed %d domains, then %d\n", list_want, n);
			return -1;
		}
		list_want = n;
		return 0;
	}
	}
	return -1;
}

struct share {
	pthread_t thread;
	long calls;
	int err;
};

static void *run_share(void *arg)
{
	struct share *s = arg;
	for (long i = 0; i < s->calls; i++) {
		if (one_call() < 0) {
			s->err = 1;
			break;
		}
	}
	return NULL;
}

/* loop makes n calls, conc threads at a time (1: this thread). */
static int loop(long n, int conc)
{
	if (conc <= 1) {
		for (long i = 0; i < n; i++)
			if (one_call() < 0)
				return -1;
		return 0;
	}
	struct share shares[IN_FLIGHT];
	int started = 0, err = 0;
	for (int t = 0; t < conc; t++) {
		shares[t].calls = n / conc + (t < n % conc ? 1 : 0);
		shares[t].err = 0;
		if (pthread_create(&shares[t].thread, NULL, run_share, &shares[t]) != 0) {
			err = 1;
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(shares[t].thread, NULL);
		err |= shares[t].err;
	}
	return err ? -1 : 0;
}

static double seconds_of(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double cpu_of(const struct rusage *r)
{
	return seconds_of(r->ru_utime) + seconds_of(r->ru_stime);
}

static void fail(const char *what)
{
	virErrorPtr e = virGetLastError();
	fprintf(stderr, "cclient: %s: %s\n", what, e && e->message ? e->message : "unknown error");
	exit(1);
}

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[2], "oneshot") == 0) {
		virSetErrorFunc(NULL, quiet);
		if (snprintf(uri, sizeof uri, "test+unix:///default?socket=%s", argv[1]) >= (int)sizeof uri)
			return 2;
		virConnectPtr c = virConnectOpen(uri);
		unsigned long lib;
		if (!c || virConnectGetLibVersion(c, &lib) < 0)
			fail("oneshot");
		if (virConnectClose(c) < 0)
			fail("closing the connection");
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: cclient SOCKET version|version16|getinfo|list|connect N WARMUP\n       cclient SOCKET oneshot\n");
		return 2;
	}
	const char *socket = argv[1], *name = argv[2];
	long n = atol(argv[3]), warmup = atol(argv[4]);
	int conc = 1;
	if (strcmp(name, "version") == 0) {
		which = CASE_VERSION;
	} else if (strcmp(name, "version16") == 0) {
		which = CASE_VERSION;
		conc = IN_FLIGHT;
	} else if (strcmp(name, "getinfo") == 0) {
		which = CASE_GETINFO;
	} else if (strcmp(name, "list") == 0) {
		which = CASE_LIST;
	} else if (strcmp(name, "connect") == 0) {
		which = CASE_CONNECT;
	} else {
		fprintf(stderr, "cclient: unknown case %s\n", name);
		return 2;
	}
	if (n <= 0 || warmup < 0) {
		fprintf(stderr, "cclient: bad N or WARMUP\n");
		return 2;
	}
	/* Errors are reported once, by fail, not printed by libvirt as well. */
	virSetErrorFunc(NULL, quiet);

	if (snprintf(uri, sizeof uri, "test+unix:///default?socket=%s", socket) >= (int)sizeof uri) {
		fprintf(stderr, "cclient: socket path too long\n");
		return 2;
	}
	conn = virConnectOpen(uri);
	if (!conn)
		fail("opening the connection");
	dom = virDomainLookupByName(conn, "test");
	if (!dom)
		fail("looking up domain test");

	if (loop(warmup, conc) < 0)
		fail("warm-up");

	struct rusage before, after;
	struct timespec t0, t1;
	getrusage(RUSAGE_SELF, &before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = loop(n, conc);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &after);
	if (rc < 0)
		fail("timed calls");

	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"client\":\"c\",\"case\":\"%s\",\"calls\":%ld,\"seconds\":%.9f,\"cpu_seconds\":%.6f}\n",
	       name, n, secs, cpu_of(&after) - cpu_of(&before));

	virDomainFree(dom);
	if (virConnectClose(conn) < 0)
		fail("closing the connection");
	return 0;
}
