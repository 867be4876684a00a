// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP side of the metrics: libmicrohttpd driven by a server thread of
 * ours, bounded in every direction a client can push (connections, time to
 * send a request, header memory, no request bodies), so a client that
 * misbehaves costs its own connection, never a scraper's answer.
 *
 * Reading the counters costs 0.1-0.2 s of kernel copying (the per-CPU
 * per-port drop array is the bulk), so scrapes are coalesced: a /metrics
 * request is suspended and queued; one render thread reads the maps once for
 * every request queued before the read began and resumes them all. Every
 * answer is still read after its request arrived, and 200 clients at once
 * cost a few reads, not 200.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "exporter.h"
#include "log.h"

/*
 * What one client can take.
 *
 * Time: a connection must deliver each request's headers within
 * HTTP_HEADER_MS of its accept (or of the end of its previous answer) and
 * take the answer within HTTP_ANSWER_MS. These are deadlines, not idle
 * timeouts: libmicrohttpd's timeout restarts with every byte, so a client
 * trickling a header line a second would keep its connection forever.
 *
 * Room: every local user reaches a loopback listener from the same address,
 * so a per-address cap is exactly what one of them can fill; there is none.
 * Instead, whenever more than HTTP_RECEIVING connections are still receiving
 * their request after a turn of the server loop, the ones whose deadline
 * comes first (that would have been closed soonest anyway) give way. A turn
 * reads whatever each client has sent, so by then a scraper's request has
 * been read and it is rendering or answering, which never gives way; a
 * remote one whose request is still in flight is the newest, the last to go.
 * Slow clients only displace each other, and a burst of real scrapes is not
 * turned away: it is bounded by HTTP_CONNECTIONS, then waits in the listen
 * backlog. Answers are small and go into the socket buffer at once; a client
 * that does not read is held to HTTP_ANSWER_MS.
 */
#define HTTP_RECEIVING	 64
#define HTTP_CONNECTIONS 256  /* libmicrohttpd's cap: a burst of scrapes fits */
#define HTTP_HEADER_MS	 5000 /* 2 lost segments of a remote scraper's request still fit */
#define HTTP_ANSWER_MS	 10000
#define HTTP_MEMORY	 16384 /* request line and headers; more is refused (414/431) */
#define HTTP_BACKLOG	 64

/* Where a connection is; that decides its deadline. */
enum client_phase {
	CLIENT_RECEIVING, /* a request's headers: HTTP_HEADER_MS */
	CLIENT_RENDERING, /* queued for the render thread: our time, no deadline */
	CLIENT_ANSWERING, /* the answer is queued: HTTP_ANSWER_MS */
	CLIENT_CLOSING,	  /* shut down by us; libmicrohttpd has yet to reap it */
	CLIENT_PHASES
};

/* Why the exporter closed a connection itself; a label of its own metric. */
enum close_reason { CLOSE_DEADLINE, CLOSE_EVICTED, CLOSE_REASONS };

static const struct {
	const char *label;
	const char *status_line; /* told to a client still sending its request */
	const char *why;	 /* for -v */
} close_reasons[CLOSE_REASONS] = {
	[CLOSE_DEADLINE] = { "deadline", "408 Request Timeout", "past its deadline" },
	[CLOSE_EVICTED] = { "evicted", "503 Service Unavailable", "made room for newer ones" },
};

/* One open connection. Only the server thread touches these. */
struct client {
	struct client *prev, *next;
	struct MHD_Connection *conn;
	int fd;
	enum client_phase phase;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC; UINT64_MAX: none */
};

/* One /metrics request waiting for the render thread. */
struct scrape {
	struct MHD_Connection *conn;
	struct scrape *next;
	char *text; /* malloc'd exposition, NULL when the read failed */
	size_t len;
	bool rendered;
};

struct pc_exporter {
	struct MHD_Daemon *daemon;
	char *const *ifnames;
	int n_ifnames;
	struct pc_metrics_opts opts;
	char url[128];

	pthread_t server; /* runs libmicrohttpd and enforces the deadlines */
	bool server_started;
	/*
	 * eventfd that wakes the server thread: connections were resumed
	 * (libmicrohttpd 0.9.75 signals nothing itself when the application
	 * runs its loop) or server_stop was set.
	 */
	int wake_fd;
	struct client *clients;
	unsigned int in_phase[CLIENT_PHASES]; /* how many clients are in each */
	uint64_t next_sweep_ms;		      /* no deadline falls before this */

	pthread_t renderer;
	bool renderer_started;
	pthread_mutex_t lock; /* guards pending, stopping, server_stop and closed */
	pthread_cond_t wake;
	struct scrape *pending;
	bool stopping;
	bool server_stop;
	unsigned long closed[CLOSE_REASONS];
};

static const char landing[] =
	"<!DOCTYPE html>\n<html><head><title>portcullis exporter</title></head>\n"
	"<body><h1>portcullis exporter</h1>\n"
	"<p>XDP port filter counters for Prometheus: <a href=\"/metrics\">/metrics</a></p>\n"
	"</body></html>\n";

/* "host:port": split at the last colon, brackets around an IPv6 address. */
static int split_listen(const char *spec, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *colon, *h = spec;
	size_t len;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = spec + 1;
		len = close - h;
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || memchr(spec, ':', colon - spec))
			return -EINVAL; /* no port, or a bare IPv6 address without brackets */
		len = colon - spec;
	}
	if (len >= host_len || strlen(colon + 1) >= port_len)
		return -EINVAL;
	memcpy(host, h, len);
	host[len] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int parse_port(const char *word)
{
	char *end;
	long port;

	if (!*word || strspn(word, "0123456789") != strlen(word))
		return -1;
	port = strtol(word, &end, 10);
	return port >= 1 && port <= 65535 ? (int)port : -1;
}

/* Resolve SPEC into ADDR; prints why not. Returns an exit status. */
static int resolve_listen(const char *spec, struct sockaddr_storage *addr, socklen_t *addr_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	char host[256], port[16];
	struct addrinfo *res;
	int rc;

	if (split_listen(spec, host, sizeof(host), port, sizeof(port))) {
		pc_warn("--listen: '%s' is not ADDR:PORT, [IPV6]:PORT or :PORT", spec);
		return PC_EXIT_USAGE;
	}
	if (parse_port(port) < 0) {
		pc_warn("--listen: '%s': port '%s' is not a number from 1 to 65535", spec, port);
		return PC_EXIT_USAGE;
	}
	if (!host[0]) {
		hints.ai_flags |= AI_PASSIVE; /* ":PORT": every address */
		hints.ai_family = AF_INET6;
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		pc_warn("--listen: '%s': can't resolve '%s': %s", spec, host,
			rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return PC_EXIT_USAGE;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return PC_EXIT_OK;
}

/* A listening socket on SPEC, or -1 with *status set and the reason printed. */
static int open_listener(const char *spec, int *status)
{
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd, one = 1, zero = 0, err;

	*status = resolve_listen(spec, &addr, &addr_len);
	if (*status != PC_EXIT_OK)
		return -1;
	*status = PC_EXIT_FAILURE;
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pc_warn("--listen %s: couldn't create a socket: %s", spec, pc_strerr(-errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&addr, addr_len) || listen(fd, HTTP_BACKLOG)) {
		err = -errno;
		pc_warn("--listen %s: couldn't listen: %s%s", spec, pc_strerr(err),
			err == -EADDRINUSE ? " (another exporter on this port?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct client *client_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

static void client_enter(struct pc_exporter *exporter, struct client *client,
			 enum client_phase phase)
{
	if (!client || client->phase == CLIENT_CLOSING)
		return;
	exporter->in_phase[client->phase]--;
	exporter->in_phase[phase]++;
	client->phase = phase;
	switch (phase) {
	case CLIENT_RECEIVING:
		client->deadline_ms = now_ms() + HTTP_HEADER_MS;
		break;
	case CLIENT_ANSWERING:
		client->deadline_ms = now_ms() + HTTP_ANSWER_MS;
		break;
	default:
		client->deadline_ms = UINT64_MAX;
	}
	if (client->deadline_ms < exporter->next_sweep_ms)
		exporter->next_sweep_ms = client->deadline_ms;
}

/* "198.51.100.7:41234" of a connection, for -v. */
static const char *client_name(const struct client *client, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(client->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN], port[8];

	if (!info ||
	    getnameinfo(info->client_addr,
			info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								 : sizeof(struct sockaddr_in),
			host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV))
		return "?";
	snprintf(buf, len, "%s:%s", host, port);
	return buf;
}

/*
 * Close CLIENT from outside libmicrohttpd: shutdown(2) makes its socket
 * readable at end of file and libmicrohttpd reaps it on its next turn. A
 * client still sending its request has had nothing from the server yet,
 * so it is told why first; one answering already has bytes in flight and
 * just loses the connection.
 */
static void client_close(struct pc_exporter *exporter, struct client *client,
			 enum close_reason reason)
{
	char answer[128], name[INET6_ADDRSTRLEN + 8];
	int len;

	if (client->phase == CLIENT_RECEIVING) {
		len = snprintf(answer, sizeof(answer),
			       "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			       close_reasons[reason].status_line);
		/* Best effort: a client that reads nothing gets nothing. */
		send(client->fd, answer, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	shutdown(client->fd, SHUT_RDWR);
	if (pc_verbosity >= PC_LOG_DEBUG)
		pc_debug("http: closed the connection of %s: %s",
			 client_name(client, name, sizeof(name)), close_reasons[reason].why);
	client_enter(exporter, client, CLIENT_CLOSING);
	pthread_mutex_lock(&exporter->lock);
	exporter->closed[reason]++;
	pthread_mutex_unlock(&exporter->lock);
}

/* Close every connection past its deadline; note when the next one falls. */
static void sweep_deadlines(struct pc_exporter *exporter)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	struct client *client;

	if (now < exporter->next_sweep_ms)
		return;
	for (client = exporter->clients; client; client = client->next) {
		if (client->deadline_ms > now) {
			if (client->deadline_ms < next)
				next = client->deadline_ms;
		} else {
			client_close(exporter, client, CLOSE_DEADLINE);
		}
	}
	exporter->next_sweep_ms = next;
}

/* Beyond HTTP_RECEIVING still receiving: those whose deadline comes first give way. */
static void make_room(struct pc_exporter *exporter)
{
	struct client *client, *victim;

	while (exporter->in_phase[CLIENT_RECEIVING] > HTTP_RECEIVING) {
		victim = NULL;
		for (client = exporter->clients; client; client = client->next) {
			if (client->phase != CLIENT_RECEIVING)
				continue;
			if (!victim || client->deadline_ms < victim->deadline_ms)
				victim = client;
		}
		client_close(exporter, victim, CLOSE_EVICTED);
	}
}

static void client_opened(struct pc_exporter *exporter, struct MHD_Connection *conn,
			  void **socket_context)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct client *client = calloc(1, sizeof(*client));

	if (!client || !info) {
		/* Untracked, it would escape every deadline: refuse it. */
		if (info)
			shutdown(info->connect_fd, SHUT_RDWR);
		free(client);
		return;
	}
	client->conn = conn;
	client->fd = info->connect_fd;
	client->phase = CLIENT_RECEIVING;
	exporter->in_phase[CLIENT_RECEIVING]++;
	client->next = exporter->clients;
	if (exporter->clients)
		exporter->clients->prev = client;
	exporter->clients = client;
	*socket_context = client;
	client_enter(exporter, client, CLIENT_RECEIVING);
}

static void client_closed(struct pc_exporter *exporter, struct client *client)
{
	if (client->prev)
		client->prev->next = client->next;
	else
		exporter->clients = client->next;
	if (client->next)
		client->next->prev = client->prev;
	exporter->in_phase[client->phase]--;
	free(client);
}

static void connection_event(void *cls, struct MHD_Connection *conn, void **socket_context,
			     enum MHD_ConnectionNotificationCode what)
{
	struct pc_exporter *exporter = cls;

	if (what == MHD_CONNECTION_NOTIFY_STARTED)
		client_opened(exporter, conn, socket_context);
	else if (*socket_context)
		client_closed(exporter, *socket_context);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *content_type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode memory)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(len, body, memory);
	enum MHD_Result ret;

	if (!response) {
		if (memory == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static bool has_body(struct MHD_Connection *conn)
{
	const char *length =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return length && strspn(length, "0") != strlen(length);
}

/*
 * The exporter's own counters, after the filter's: the connections it
 * closed itself, so an attack on it shows where it is watched from.
 */
static void write_own_metrics(struct pc_exporter *exporter, FILE *out)
{
	unsigned long closed[CLOSE_REASONS];
	int reason;

	pthread_mutex_lock(&exporter->lock);
	memcpy(closed, exporter->closed, sizeof(closed));
	pthread_mutex_unlock(&exporter->lock);
	fputs("# HELP portcullis_exporter_connections_closed_total Connections the exporter "
	      "closed itself: past their deadline, or evicted to make room for newer ones.\n"
	      "# TYPE portcullis_exporter_connections_closed_total counter\n",
	      out);
	for (reason = 0; reason < CLOSE_REASONS; reason++)
		fprintf(out, "portcullis_exporter_connections_closed_total{reason=\"%s\"} %lu\n",
			close_reasons[reason].label, closed[reason]);
}

/* The exposition of the filter and of the exporter, as pc_metrics_render. */
static int render(struct pc_exporter *exporter, char **text, size_t *len)
{
	FILE *out = open_memstream(text, len);
	int err;

	if (!out)
		return -errno;
	err = pc_metrics_write(out, exporter->ifnames, exporter->n_ifnames, &exporter->opts);
	write_own_metrics(exporter, out);
	if (fclose(out) && !err)
		err = -EIO;
	return err;
}

/* Read the maps once for BATCH (every request queued before now) and resume them. */
static void render_batch(struct pc_exporter *exporter, struct scrape *batch)
{
	char *text = NULL;
	size_t len = 0;
	int err = render(exporter, &text, &len);

	/* An interface that went away is in the text (interface_up 0), not an error. */
	if (err && err != -ENOENT) {
		pc_warn("/metrics: couldn't render: %s", pc_strerr(err));
		free(text);
		text = NULL;
	}
	while (batch) {
		struct scrape *next = batch->next;

		batch->text = text ? malloc(len ? len : 1) : NULL;
		if (batch->text) {
			memcpy(batch->text, text, len);
			batch->len = len;
		}
		batch->rendered = true;
		MHD_resume_connection(batch->conn);
		batch = next;
	}
	free(text);
}

/* Run the server thread's loop once more; false when that failed. */
static bool wake_server(struct pc_exporter *exporter)
{
	const uint64_t one = 1;

	return write(exporter->wake_fd, &one, sizeof(one)) == sizeof(one);
}

static void *render_thread(void *arg)
{
	struct pc_exporter *exporter = arg;
	struct scrape *batch;

	pthread_mutex_lock(&exporter->lock);
	for (;;) {
		while (!exporter->pending && !exporter->stopping)
			pthread_cond_wait(&exporter->wake, &exporter->lock);
		batch = exporter->pending;
		exporter->pending = NULL;
		if (!batch && exporter->stopping)
			break;
		pthread_mutex_unlock(&exporter->lock);
		render_batch(exporter, batch);
		wake_server(exporter);
		pthread_mutex_lock(&exporter->lock);
	}
	pthread_mutex_unlock(&exporter->lock);
	return NULL;
}

/*
 * First call: queue the request and suspend the connection. Second call,
 * once the render thread resumed it: answer with what it read.
 */
static enum MHD_Result serve_metrics(struct pc_exporter *exporter, struct MHD_Connection *conn,
				     void **request_state)
{
	struct scrape *scrape = *request_state;
	bool queued = false;

	if (scrape && scrape->rendered) {
		if (!scrape->text)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "couldn't read counters\n");
		return reply(conn, MHD_HTTP_OK, PC_METRICS_CONTENT_TYPE, scrape->text, scrape->len,
			     MHD_RESPMEM_PERSISTENT);
	}
	if (scrape)
		return MHD_YES; /* resumed without a render: cannot happen */
	scrape = calloc(1, sizeof(*scrape));
	if (!scrape)
		return MHD_NO;
	scrape->conn = conn;
	*request_state = scrape;
	pthread_mutex_lock(&exporter->lock);
	if (!exporter->stopping) {
		MHD_suspend_connection(conn);
		client_enter(exporter, client_of(conn), CLIENT_RENDERING);
		scrape->next = exporter->pending;
		exporter->pending = scrape;
		queued = true;
		pthread_cond_signal(&exporter->wake);
	}
	pthread_mutex_unlock(&exporter->lock);
	if (!queued)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
	return MHD_YES;
}

/*
 * The response is sent (or the connection died): the scrape's text goes,
 * and a kept-alive connection has a new deadline for its next request.
 */
static void request_done(void *cls, struct MHD_Connection *conn, void **request_state,
			 enum MHD_RequestTerminationCode why)
{
	struct scrape *scrape = *request_state;

	client_enter(cls, client_of(conn), CLIENT_RECEIVING);

	if (scrape) {
		free(scrape->text);
		free(scrape);
		*request_state = NULL;
	}
}

/*
 * Every request is answered on the first call, before any body is read: a
 * body is refused, never buffered.
 */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **request_state)
{
	struct pc_exporter *exporter = cls;

	client_enter(exporter, client_of(conn), CLIENT_ANSWERING);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (*request_state)
		return serve_metrics(exporter, conn, request_state); /* resumed */
	if (has_body(conn) || *upload_data_size)
		return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are refused\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(exporter, conn, request_state);
	if (strcmp(url, "/") == 0)
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)landing,
			     sizeof(landing) - 1, MHD_RESPMEM_PERSISTENT);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

/* libmicrohttpd's own complaints (oversize headers, timeouts) are detail: -v. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	if (pc_verbosity < PC_LOG_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	pc_debug("http: %s", line);
}

static void describe_url(struct pc_exporter *exporter, int fd)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
		if (addr.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&addr;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(exporter->url, sizeof(exporter->url),
		 addr.ss_family == AF_INET6 ? "http://[%s]:%d/metrics" : "http://%s:%d/metrics",
		 host, port);
}

/* Say now, not at the first scrape, which named interfaces cannot be read. */
static void report_interfaces(struct pc_exporter *exporter)
{
	char *text = NULL;
	size_t len = 0;

	pc_metrics_render(&text, &len, exporter->ifnames, exporter->n_ifnames, &exporter->opts);
	free(text);
}

/* How long the server thread may sleep: until libmicrohttpd or a deadline needs it. */
static int server_wait_ms(struct pc_exporter *exporter)
{
	MHD_UNSIGNED_LONG_LONG mhd_ms;
	uint64_t now = now_ms(), wait = UINT64_MAX;

	if (MHD_get_timeout(exporter->daemon, &mhd_ms) == MHD_YES)
		wait = mhd_ms;
	if (exporter->next_sweep_ms != UINT64_MAX) {
		uint64_t until = exporter->next_sweep_ms > now ? exporter->next_sweep_ms - now : 0;

		if (until < wait)
			wait = until;
	}
	return wait > INT_MAX ? -1 : (int)wait;
}

/* The wake eventfd fired: drain it; true when the server thread is to stop. */
static bool server_woken(struct pc_exporter *exporter)
{
	uint64_t count;
	bool stop;

	if (read(exporter->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return true;
	pthread_mutex_lock(&exporter->lock);
	stop = exporter->server_stop;
	pthread_mutex_unlock(&exporter->lock);
	return stop;
}

/*
 * libmicrohttpd's loop, run here rather than on its own thread so that one
 * thread owns every connection: it accepts, reads, answers, enforces the
 * deadlines and closes, and no socket is shut down while another thread
 * could be closing it.
 */
static void *server_thread(void *arg)
{
	struct pc_exporter *exporter = arg;
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(exporter->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd fds[2] = {
		{ .fd = info->epoll_fd, .events = POLLIN },
		{ .fd = exporter->wake_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(fds, 2, server_wait_ms(exporter)) < 0 && errno != EINTR) {
			pc_warn("exporter: poll failed: %s; no longer serving", pc_strerr(-errno));
			break;
		}
		if ((fds[1].revents & POLLIN) && server_woken(exporter))
			break;
		MHD_run(exporter->daemon);
		sweep_deadlines(exporter);
		make_room(exporter);
	}
	return NULL;
}

/*
 * External polling (server_thread), epoll, and turbo: a connection is read
 * in the turn that accepts it, so make_room never finds a scraper's request
 * sent but unread.
 */
static bool start_daemon(struct pc_exporter *exporter, int fd)
{
	exporter->daemon = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, handle_request, exporter, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_CONNECTION, connection_event,
		exporter, MHD_OPTION_NOTIFY_COMPLETED, request_done, exporter,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTIONS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY,
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!exporter->daemon)
		return false;
	exporter->server_started =
		pthread_create(&exporter->server, NULL, server_thread, exporter) == 0;
	return exporter->server_started;
}

struct pc_exporter *pc_exporter_start(const char *listen, char *const *ifnames, int n,
				      const struct pc_metrics_opts *opts, int *status)
{
	struct pc_exporter *exporter = calloc(1, sizeof(*exporter));
	int fd;

	*status = PC_EXIT_FAILURE;
	if (!exporter)
		return NULL;
	exporter->wake_fd = -1;
	exporter->next_sweep_ms = UINT64_MAX;
	if (!listen)
		listen = PC_LISTEN_DEFAULT;
	fd = open_listener(listen, status);
	if (fd < 0) {
		free(exporter);
		return NULL;
	}
	exporter->ifnames = ifnames;
	exporter->n_ifnames = n;
	exporter->opts = *opts;
	exporter->opts.quiet_errors = true;
	describe_url(exporter, fd);
	report_interfaces(exporter);

	pthread_mutex_init(&exporter->lock, NULL);
	pthread_cond_init(&exporter->wake, NULL);
	exporter->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (exporter->wake_fd < 0 ||
	    pthread_create(&exporter->renderer, NULL, render_thread, exporter)) {
		pc_warn("exporter: couldn't start the render thread");
		close(fd);
		pc_exporter_stop(exporter);
		return NULL;
	}
	exporter->renderer_started = true;

	if (!start_daemon(exporter, fd)) {
		pc_warn("--listen %s: couldn't start the HTTP server", listen);
		if (!exporter->daemon)
			close(fd);
		pc_exporter_stop(exporter);
		*status = PC_EXIT_FAILURE;
		return NULL;
	}
	*status = PC_EXIT_OK;
	return exporter;
}

/*
 * The render thread answers what is queued and exits; requests after that
 * get 503, so no connection is left suspended when the server stops. Then
 * the server thread stops, and libmicrohttpd closes what is left from here.
 */
void pc_exporter_stop(struct pc_exporter *exporter)
{
	if (!exporter)
		return;
	if (exporter->renderer_started) {
		pthread_mutex_lock(&exporter->lock);
		exporter->stopping = true;
		pthread_cond_signal(&exporter->wake);
		pthread_mutex_unlock(&exporter->lock);
		pthread_join(exporter->renderer, NULL);
	}
	if (exporter->server_started) {
		pthread_mutex_lock(&exporter->lock);
		exporter->server_stop = true;
		pthread_mutex_unlock(&exporter->lock);
		if (wake_server(exporter))
			pthread_join(exporter->server, NULL);
		else
			pc_warn("exporter: couldn't stop the server thread: %s", pc_strerr(-errno));
	}
	if (exporter->daemon)
		MHD_stop_daemon(exporter->daemon); /* closes the listening socket too */
	if (exporter->wake_fd >= 0)
		close(exporter->wake_fd);
	pthread_cond_destroy(&exporter->wake);
	pthread_mutex_destroy(&exporter->lock);
	free(exporter);
}

const char *pc_exporter_url(const struct pc_exporter *exporter)
{
	return exporter->url;
}

int pc_service_signalfd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pc_cmd_metrics(char *const *ifnames, int n, const struct pc_metrics_opts *opts)
{
	int err = pc_metrics_write(stdout, ifnames, n, opts);

	if (err && err != -ENOENT)
		pc_warn("metrics: couldn't write: %s", pc_strerr(err));
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}

int pc_cmd_exporter(const char *listen, char *const *ifnames, int n,
		    const struct pc_metrics_opts *opts)
{
	struct signalfd_siginfo info;
	struct pc_exporter *exporter;
	int sig_fd, status;

	sig_fd = pc_service_signalfd();
	if (sig_fd < 0) {
		pc_warn("exporter: couldn't set up signals: %s", pc_strerr(sig_fd));
		return PC_EXIT_FAILURE;
	}
	exporter = pc_exporter_start(listen, ifnames, n, opts, &status);
	if (!exporter) {
		close(sig_fd);
		return status;
	}
	pc_info("serving %s for %s", pc_exporter_url(exporter),
		n ? "the named interfaces" : "every attached interface");
	/* SIGHUP has nothing to reload here; SIGTERM and SIGINT stop. */
	for (;;) {
		ssize_t got = read(sig_fd, &info, sizeof(info));

		if (got < 0 && errno == EINTR)
			continue;
		if (got != sizeof(info) || info.ssi_signo != SIGHUP)
			break;
	}
	pc_exporter_stop(exporter);
	close(sig_fd);
	pc_info("exporter stopped");
	return PC_EXIT_OK;
}
