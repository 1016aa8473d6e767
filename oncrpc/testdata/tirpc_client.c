/*
 * A libtirpc client for the oncrpc tests: it finds the test program
 * through rpcbind (clnt_create), calls it with AUTH_SYS credentials and
 * prints what came back, so that the Go side is checked against the C
 * library's own encoding of calls, credentials and replies.
 *
 * usage: tirpc_client HOST PROG VERS NETTYPE
 * prints: "uid UID" (procedure 4, WHO), "sum SUM" (procedure 1, ADD of
 * 40 and 2), or "mismatch LOW HIGH" when VERS is not served.
 */
#include <rpc/rpc.h>
#include <stdio.h>
#include <stdlib.h>

struct pair { int a, b; };

static bool_t xdr_pair(XDR *x, struct pair *p) {
	return xdr_int(x, &p->a) && xdr_int(x, &p->b);
}

int main(int argc, char **argv) {
	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST PROG VERS NETTYPE\n", argv[0]);
		return 2;
	}
	rpcprog_t prog = strtoul(argv[2], NULL, 0);
	rpcvers_t vers = strtoul(argv[3], NULL, 0);
	CLIENT *c = clnt_create(argv[1], prog, vers, argv[4]);
	if (c == NULL) {
		clnt_pcreateerror("clnt_create");
		return 1;
	}
	gid_t gids[] = {77, 78};
	auth_destroy(c->cl_auth);
	c->cl_auth = authunix_create("tirpc-host", 4321, 77, 2, gids);
	struct timeval tv = {10, 0};
	struct pair args = {40, 2};
	int sum = 0;
	enum clnt_stat st = clnt_call(c, 1, (xdrproc_t)xdr_pair, (char *)&args, (xdrproc_t)xdr_int, (char *)&sum, tv);
	if (st == RPC_PROGVERSMISMATCH) {
		struct rpc_err e;
		clnt_geterr(c, &e);
		printf("mismatch %lu %lu\n", (unsigned long)e.re_vers.low, (unsigned long)e.re_vers.high);
		return 0;
	}
	if (st != RPC_SUCCESS) {
		clnt_perror(c, "ADD");
		return 1;
	}
	printf("sum %d\n", sum);
	if (vers == 2) {
		unsigned int uid = 0;
		st = clnt_call(c, 4, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_u_int, (char *)&uid, tv);
		if (st != RPC_SUCCESS) {
			clnt_perror(c, "WHO");
			return 1;
		}
		printf("uid %u\n", uid);
	}
	clnt_destroy(c);
	return 0;
}
