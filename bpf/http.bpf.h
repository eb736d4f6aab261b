/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel's judgement of an HTTP/1.x request as a tracked process sends it: before
 * encryption in the uprobe on OpenSSL's SSL_write (the request never leaves), or at the exit of
 * a plaintext write on a socket (the bytes have left; the process dies before it reads a reply).
 *
 * Table http_rules holds the routes userspace could express as hashes (enforce/kernel_tables):
 *   key (agent, EXACT|PREFIX, hash(method "\n" host), hash(path or path prefix))
 * where method and host are the literal "*" for routes that match any. The request's path is
 * decoded as userspace decodes it (percent-escapes, runs of '/' collapsed, query cut) and hashed
 * byte by byte; at every '/' the prefix so far is looked up, at the end the whole path. A path
 * with a "." or ".." component or a bad escape cannot be judged: SK_RULE_HTTP_UNCLEAR.
 *
 * Four bpf_loop() passes over the copied bytes (in the scratch record) so the verifier checks
 * each step once: request line, Host header, host hash, path walk.
 */
#ifndef STOCKADE_HTTP_BPF_H
#define STOCKADE_HTTP_BPF_H

#include "helpers.bpf.h"

#define SK_HTTP_METHOD_MAX 16
#define SK_HTTP_HOST_MAX 255
#define SK_HTTP_PATH_MAX 1024
#define SK_HTTP_HEAD_MAX 2048

struct sk_http_scan {
	__u32 len;     /* bytes in e->data */
	__u32 agent;
	__u32 mlen;    /* method length; 0 = not a request line */
	__u32 pstart;  /* first byte of the target */
	__u32 pend;    /* end of the path (space, '?', '#', CR or the end of the data) */
	__u32 hstart;  /* first byte after "Host:" (0 = no Host header) */
	__u32 unclear; /* the path cannot be judged */
	__u32 deny;    /* rule of the first deny route that matched */
	__u32 allowed; /* an allow route matched */
	__u32 esc;     /* path decoding: 0, 1 after '%', 2 after its first hex digit */
	__u32 escval;
	__u32 seglen;  /* decoded bytes in the current path segment */
	__u32 segdots; /* how many of them are '.' */
	__u32 last;    /* last decoded path byte */
	__u32 inbr;    /* host: inside an IPv6 literal's brackets */
	__u32 hdone;
	__u64 mhash;   /* FNV-1a of the method bytes */
	__u64 mh[4];   /* (method, host) (method, *) (*, host) (*, *) */
	__u64 ph;      /* path hash so far */
	__u64 ph_prev; /* path hash before the last '/' */
};

/* Pass 1: "METHOD SP target": method upper case, at most SK_HTTP_METHOD_MAX bytes. */
static long sk_http_line(__u32 i, void *arg)
{
	struct sk_http_scan *s = arg;
	struct sk_event *e = sk_scratch();
	__u64 at = i;
	__u8 ch;

	if (!e || at >= s->len) {
		if (e && s->mlen && !s->pend)
			s->pend = s->len; /* the request line was cut: judge what there is */
		return 1;
	}
	at &= SK_IO_MAX - 1; /* a no-op (len <= SK_IO_MAX): the bound the verifier needs */
	ch = e->data[at];
	if (!s->mlen) {
		if (ch >= 'A' && ch <= 'Z' && i < SK_HTTP_METHOD_MAX) {
			s->mhash = sk_fnv(s->mhash, ch);
			return 0;
		}
		if (ch == ' ' && i > 0) {
			s->mlen = i;
			s->pstart = i + 1;
			return 0;
		}
		return 1; /* not a request line */
	}
	if (ch == ' ' || ch == '?' || ch == '#' || ch == '\r' || ch == '\n') {
		s->pend = i;
		return 1;
	}
	return 0;
}

/* Pass 2: the Host header ("\r\nHost:", any case), within the head. */
static long sk_http_find_host(__u32 i, void *arg)
{
	struct sk_http_scan *s = arg;
	struct sk_event *e = sk_scratch();
	__u64 at = (__u64)s->pend + i;

	if (!e || at + 6 > s->len)
		return 1;
	at &= SK_IO_MAX - 1;
	if (e->data[at] != '\n')
		return 0;
	if (at + 1 < SK_IO_MAX && e->data[(at + 1) & (SK_IO_MAX - 1)] == '\r')
		return 1; /* the blank line: end of the head */
	if ((e->data[(at + 1) & (SK_IO_MAX - 1)] | 0x20) == 'h' && (e->data[(at + 2) & (SK_IO_MAX - 1)] | 0x20) == 'o' &&
	    (e->data[(at + 3) & (SK_IO_MAX - 1)] | 0x20) == 's' && (e->data[(at + 4) & (SK_IO_MAX - 1)] | 0x20) == 't' &&
	    e->data[(at + 5) & (SK_IO_MAX - 1)] == ':') {
		s->hstart = at + 6;
		return 1;
	}
	return 0;
}

/* Pass 3: the host value, lower case, without spaces or the port, into mh[0] and mh[2]. */
static long sk_http_hash_host(__u32 i, void *arg)
{
	struct sk_http_scan *s = arg;
	struct sk_event *e = sk_scratch();
	__u64 at = (__u64)s->hstart + i;
	__u8 ch;

	if (!e || at >= s->len)
		return 1;
	at &= SK_IO_MAX - 1;
	ch = e->data[at];
	if (ch == ' ' || ch == '\t') {
		if (s->hdone)
			return 1;
		return 0; /* leading white space */
	}
	if (ch == '\r' || ch == '\n' || (ch == ':' && !s->inbr))
		return 1;
	s->hdone = 1;
	if (ch == '[')
		s->inbr = 1;
	else if (ch == ']')
		s->inbr = 0;
	if (ch >= 'A' && ch <= 'Z')
		ch |= 0x20;
	s->mh[0] = sk_fnv(s->mh[0], ch);
	s->mh[2] = sk_fnv(s->mh[2], ch);
	return 0;
}

static __always_inline void sk_http_lookup(struct sk_http_scan *s, __u32 tag, __u64 ph)
{
	struct sk_http_key key = {.agent_id = s->agent, .tag = tag, .path_hash = ph};
	struct sk_http_rule *r;

	for (int k = 0; k < 4; k++) {
		key.route_hash = s->mh[k & 3];
		r = bpf_map_lookup_elem(&http_rules, &key);
		if (!r)
			continue;
		if ((r->flags & SK_HTTP_DENY) && !s->deny)
			s->deny = r->rule;
		if (r->flags & SK_HTTP_ALLOW)
			s->allowed = 1;
	}
}

static __always_inline int sk_http_hex(__u8 ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* A '/' or the end closes a segment: "." and ".." components cannot be judged. */
static __always_inline bool sk_http_dot_segment(struct sk_http_scan *s)
{
	return s->seglen && s->seglen <= 2 && s->segdots == s->seglen;
}

/* Pass 4: decode and hash the path; look up every prefix that ends in '/'. */
static long sk_http_walk(__u32 i, void *arg)
{
	struct sk_http_scan *s = arg;
	struct sk_event *e = sk_scratch();
	__u64 at = (__u64)s->pstart + i;
	__u8 ch;
	int v;

	if (!e || at >= s->pend || at >= s->len)
		return 1;
	at &= SK_IO_MAX - 1;
	ch = e->data[at];
	if (s->esc) {
		v = sk_http_hex(ch);
		if (v < 0) {
			s->unclear = 1;
			return 1;
		}
		if (s->esc == 1) {
			s->escval = v;
			s->esc = 2;
			return 0;
		}
		ch = (s->escval << 4) | v;
		s->esc = 0;
		if (!ch) {
			s->unclear = 1;
			return 1;
		}
	} else if (ch == '%') {
		s->esc = 1;
		return 0;
	}
	if (ch == '/') {
		if (s->last == '/')
			return 0; /* "//" is "/" */
		if (sk_http_dot_segment(s)) {
			s->unclear = 1;
			return 1;
		}
		s->ph_prev = s->ph;
		s->ph = sk_fnv(s->ph, '/');
		s->seglen = s->segdots = 0;
		sk_http_lookup(s, SK_HTTP_PREFIX, s->ph);
	} else {
		s->ph = sk_fnv(s->ph, ch);
		s->seglen++;
		if (ch == '.')
			s->segdots++;
	}
	s->last = ch;
	return 0;
}

/*
 * Returns the kernel rule that refuses the request at the start of the scratch record's
 * data[0..len), or 0. Only for agents whose enforce-mode boundary has HTTP routes in the kernel
 * (SK_AG_HTTP). A global function: verified once, on its own, whichever hook calls it.
 */
__noinline __u32 sk_http_judge(__u32 agent, __u32 len)
{
	struct sk_http_scan s = {.len = len, .agent = agent, .mhash = SK_FNV_OFFSET, .ph = SK_FNV_OFFSET};
	struct sk_agent_cfg *cfg = bpf_map_lookup_elem(&agent_cfg, &agent);
	struct sk_event *e = sk_scratch();
	__u8 first = 0;

	if (!e || len > SK_IO_MAX)
		return 0;

	if (!cfg || !(cfg->flags & SK_AG_ENFORCE) || !(cfg->flags & SK_AG_HTTP))
		return 0;
	bpf_loop(SK_HTTP_METHOD_MAX + SK_HTTP_PATH_MAX + 2, sk_http_line, &s, 0);
	if (!s.mlen || !s.pend || s.pstart >= SK_IO_MAX)
		return 0; /* not the start of a request: a body, or another protocol */
	first = e->data[s.pstart & (SK_IO_MAX - 1)];
	/* (method, host) hashes: "METHOD\nhost", "METHOD\n*", "*\nhost", "*\n*". */
	s.mh[0] = s.mh[1] = sk_fnv(s.mhash, '\n');
	s.mh[2] = s.mh[3] = sk_fnv(sk_fnv(SK_FNV_OFFSET, '*'), '\n');
	s.mh[1] = sk_fnv(s.mh[1], '*');
	s.mh[3] = sk_fnv(s.mh[3], '*');
	bpf_loop(SK_HTTP_HEAD_MAX, sk_http_find_host, &s, 0);
	if (s.hstart)
		bpf_loop(SK_HTTP_HOST_MAX + 16, sk_http_hash_host, &s, 0);
	if (first != '/') {
		s.unclear = 1; /* "*", an absolute URL through a proxy, or the HTTP/2 preface */
	} else {
		bpf_loop(SK_HTTP_PATH_MAX, sk_http_walk, &s, 0);
		if (s.esc || sk_http_dot_segment(&s))
			s.unclear = 1;
		if (!s.unclear)
			sk_http_lookup(&s, SK_HTTP_EXACT, s.last == '/' && s.ph_prev != SK_FNV_OFFSET ? s.ph_prev : s.ph);
	}
	if (s.deny)
		return s.deny;
	if (s.unclear)
		return SK_RULE_HTTP_UNCLEAR;
	if ((cfg->flags & SK_AG_HTTP_STRICT) && !s.allowed)
		return cfg->http_rule;
	return 0;
}

#endif
