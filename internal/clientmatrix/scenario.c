//go:build ignore

// The line above keeps the go command from treating this file as part of
// the Go package beside it; gcc builds it alone.

/*
 * scenario: the matrix's C client, libvirt's own library. It runs the
 * scenario every client of the matrix runs and prints one line per step
 * (see matrix_test.go):
 *
 *   cc -o scenario scenario.c $(pkg-config --cflags --libs libvirt) -lpthread
 *   scenario URI NAME XMLFILE
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *names[] = {"Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped"};
static const char *want;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char events[16][16];
static int nevents;
static volatile int running = 1;

static int lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	(void)c, (void)detail, (void)opaque;
	if (strcmp(virDomainGetName(d), want) != 0 || event < 0 || event > 5)
		return 0;
	pthread_mutex_lock(&mu);
	if (nevents < 16)
		snprintf(events[nevents++], sizeof events[0], "%s", names[event]);
	pthread_mutex_unlock(&mu);
	return 0;
}

static void *loop(void *arg)
{
	(void)arg;
	while (running)
		virEventRunDefaultImpl();
	return NULL;
}

static void fail(const char *what)
{
	virErrorPtr e = virGetLastError();
	printf("%s failed: %s\n", what, e && e->message ? e->message : "unknown error");
	exit(1);
}

static void quiet(void *data, virErrorPtr e)
{
	(void)data, (void)e;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: scenario URI NAME XMLFILE\n");
		return 2;
	}
	want = argv[2];
	virSetErrorFunc(NULL, quiet);
	char xml[4096] = {0};
	FILE *f = fopen(argv[3], "r");
	if (!f || fread(xml, 1, sizeof xml - 1, f) == 0)
		return 2;
	fclose(f);
	virEventRegisterDefaultImpl();
	pthread_t th;
	pthread_create(&th, NULL, loop, NULL);

	virConnectPtr c = virConnectOpen(argv[1]);
	if (!c)
		fail("open");
	printf("open ok\n");
	unsigned long ver;
	if (virConnectGetLibVersion(c, &ver) < 0 || ver == 0)
		fail("version");
	printf("version ok\n");
	char *caps = virConnectGetCapabilities(c);
	if (!caps || !strstr(caps, "<capabilities>"))
		fail("capabilities");
	free(caps);
	printf("capabilities ok\n");
	virDomainPtr *doms;
	int n = virConnectListAllDomains(c, &doms, 0), found = 0;
	if (n < 0)
		fail("list");
	for (int i = 0; i < n; i++) {
		found |= strcmp(virDomainGetName(doms[i]), "test") == 0;
		virDomainFree(doms[i]);
	}
	free(doms);
	printf(found ? "list has test\n" : "list lacks test\n");
	int cb = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						  VIR_DOMAIN_EVENT_CALLBACK(lifecycle), NULL, NULL);
	if (cb < 0)
		fail("event registration");
	virDomainPtr d = virDomainDefineXML(c, xml);
	if (!d)
		fail("define");
	printf("define ok\n");
	if (virDomainCreate(d) < 0)
		fail("start");
	printf("start ok\n");
	if (virDomainSuspend(d) < 0)
		fail("suspend");
	printf("suspend ok\n");
	if (virDomainResume(d) < 0)
		fail("resume");
	printf("resume ok\n");
	if (virDomainDestroy(d) < 0)
		fail("destroy");
	printf("destroy ok\n");
	if (virDomainUndefine(d) < 0)
		fail("undefine");
	printf("undefine ok\n");
	virDomainFree(d);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&mu);
		int got = nevents;
		pthread_mutex_unlock(&mu);
		if (got >= 6)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nevents; i++)
		printf("event %s\n", events[i]);
	pthread_mutex_unlock(&mu);
	virConnectDomainEventDeregisterAny(c, cb);
	if (virConnectClose(c) < 0)
		fail("close");
	printf("close ok\n");
	running = 0;
	return 0;
}
