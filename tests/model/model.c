// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reference model of model.h. Every step of the verdict order is one
 * block below, numbered as in shared/interface.md. Header layouts are taken
 * from the RFCs named at each read; all reads go through byte_at() and
 * be16_at(), which callers only use after checking that the bytes exist.
 *
 * Decisions where the contract leaves room, and why:
 * - A frame shorter than an Ethernet header, a VLAN tag cut short, a third
 *   VLAN tag, or an IP EtherType without a whole fixed IP header is
 *   malformed: there is no source to judge, and a third tag would hide the
 *   payload from a filter that stops at two.
 * - Steps 2-4 read the source from the fixed header the EtherType promises,
 *   before anything else in that header is checked (that is step 5).
 * - An IPv6 source that carries an IPv4 address, IPv4-mapped (::ffff:0:0/96,
 *   RFC 4291 2.5.5.2) or IPv4-compatible (::/96, 2.5.5.1, deprecated), is
 *   malformed before any list is asked: no honest stack sends one. The
 *   unspecified address :: (DAD, RFC 4862) and the loopback ::1 (which the
 *   kernel refuses from a wire anyway) are not such sources.
 * - Protocol numbers open to "allow proto" are the 256 of the IP header's
 *   protocol field (IPv4) or the last next-header value (IPv6).
 * - IPv6 extension headers are those RFC 8200 defines with the generic
 *   length format, the fragment header, and AH (RFC 4302): 0, 43, 44, 51,
 *   60. ESP (50), "no next header" (59) and the rest are upper layers:
 *   other protocols. More than MODEL_IPV6_MAX_EXT of them is "too long".
 * - The L4 bytes a first fragment must hold: TCP its whole header (20
 *   bytes, and doff * 4 of them), UDP 8, ICMP and ICMPv6 the 8 bytes every
 *   message has (RFC 792, RFC 4443), counted in what the IP lengths say
 *   the packet carries. ICMP means protocol 1 in IPv4, 58 in IPv6 only.
 * - "Neighbour discovery" is ICMPv6 133-137 (RFC 4861), "packet too big"
 *   is ICMPv6 2 (RFC 4443) and IPv4 destination unreachable / fragmentation
 *   needed (type 3 code 4, RFC 1191); any code for the ICMPv6 types.
 * - TCP flags are the six of RFC 793; ECE and CWR (RFC 3168) never make a
 *   combination legal or illegal.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The bound the contract's "IPv6 extension chain too long" refers to. */
#define MODEL_IPV6_MAX_EXT 6
_Static_assert(MODEL_IPV6_MAX_EXT == PC_IPV6_MAX_EXT, "the documented chain limit changed");

#define ETHERTYPE_IPV4	 0x0800
#define ETHERTYPE_IPV6	 0x86dd
#define ETHERTYPE_8021Q	 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETH_HEADER	 14
#define VLAN_TAG	 4
#define MAX_VLAN_TAGS	 2

#define PROTO_ICMP   1
#define PROTO_TCP    6
#define PROTO_UDP    17
#define PROTO_ICMPV6 58
/* IPv6 extension headers. */
#define EXT_HOP_BY_HOP 0
#define EXT_ROUTING    43
#define EXT_FRAGMENT   44
#define EXT_AH	       51
#define EXT_DEST_OPTS  60

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20

/* What the steps after parsing need to know about the packet. */
struct model_packet {
	struct model_prefix source; /* len = 32 or 128 */
	int family;		    /* 4 or 6 */
	size_t l3;		    /* offset of the IP header */
	size_t l4;		    /* offset of the upper-layer header */
	size_t l4_len;		    /* its bytes as the IP lengths count them */
	uint8_t protocol;	    /* upper-layer protocol */
	bool later_fragment;	    /* fragment offset > 0 */
};

static uint8_t byte_at(const uint8_t *frame, size_t off)
{
	return frame[off];
}

static uint16_t be16_at(const uint8_t *frame, size_t off)
{
	return (uint16_t)(frame[off] << 8 | frame[off + 1]);
}

/* ---- addresses -------------------------------------------------------------- */

/* RFC 4291 2.5.5: ::ffff:0:0/96 and ::/96, except :: and ::1. */
static bool embeds_ipv4(const struct model_prefix *source)
{
	static const uint8_t zero[12];

	if (source->family != 6 || memcmp(source->addr, zero, 10) != 0)
		return false;
	if (source->addr[10] == 0xff && source->addr[11] == 0xff)
		return true;
	if (source->addr[10] || source->addr[11])
		return false;
	for (int i = 12; i < 15; i++)
		if (source->addr[i])
			return true;
	return source->addr[15] > 1;
}

/* Do the first BITS bits of A and B agree? */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	for (unsigned int bit = 0; bit < bits; bit++) {
		unsigned int byte = bit / 8, shift = 7 - bit % 8;

		if (((a[byte] >> shift) & 1) != ((b[byte] >> shift) & 1))
			return false;
	}
	return true;
}

static bool in_prefix(const struct model_prefix *source, const struct model_prefix *listed)
{
	return listed->family == source->family && same_bits(source->addr, listed->addr, listed->len);
}

static bool in_list(const struct model_prefix *source, const struct model_prefix *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in_prefix(source, &list[i]))
			return true;
	return false;
}

static bool is_banned(const struct model_rules *rules, const struct model_prefix *source)
{
	for (size_t i = 0; i < rules->n_banned; i++) {
		const struct model_prefix ban = rules->banned[i];

		if (ban.family != source->family)
			continue;
		if (source->family == 4 ? same_bits(source->addr, ban.addr, 32)
					: same_bits(source->addr, ban.addr, rules->ban_ipv6_prefix))
			return true;
	}
	return false;
}

/* ---- step 1: link layer ------------------------------------------------------- */

/*
 * Ethernet II (IEEE 802.3), then up to two 802.1Q / 802.1ad tags of four
 * bytes: TPID, TCI, then the next EtherType. Returns PC_REASONS to go on
 * with *L3 and *ETHERTYPE set, else the verdict.
 */
static int link_layer(const uint8_t *frame, size_t len, size_t *l3, uint16_t *ethertype)
{
	size_t off = ETH_HEADER;
	int tags = 0;

	if (len < ETH_HEADER)
		return PC_DROP_MALFORMED;
	*ethertype = be16_at(frame, 12);
	while (*ethertype == ETHERTYPE_8021Q || *ethertype == ETHERTYPE_8021AD) {
		if (tags == MAX_VLAN_TAGS || len < off + VLAN_TAG)
			return PC_DROP_MALFORMED;
		*ethertype = be16_at(frame, off + 2);
		off += VLAN_TAG;
		tags++;
	}
	*l3 = off;
	return PC_REASONS;
}

/* The source address of the fixed IP header (RFC 791: bytes 12-15; RFC 8200: 8-23). */
static int read_source(const uint8_t *frame, size_t len, uint16_t ethertype,
		       struct model_packet *pkt)
{
	struct model_prefix source = { 0 };

	if (ethertype == ETHERTYPE_IPV4) {
		if (len - pkt->l3 < 20)
			return PC_DROP_MALFORMED;
		source.family = 4;
		source.len = 32;
		memcpy(source.addr, frame + pkt->l3 + 12, 4);
	} else if (ethertype == ETHERTYPE_IPV6) {
		if (len - pkt->l3 < 40)
			return PC_DROP_MALFORMED;
		source.family = 6;
		source.len = 128;
		memcpy(source.addr, frame + pkt->l3 + 8, 16);
	} else {
		return PC_PASS_NOT_IP;
	}
	if (embeds_ipv4(&source))
		return PC_DROP_MALFORMED;
	pkt->source = source;
	pkt->family = ethertype == ETHERTYPE_IPV4 ? 4 : 6;
	return PC_REASONS;
}

/* ---- step 5: the rest of the IP header ------------------------------------------ */

/* RFC 791: version, IHL in 4-byte words, total length, fragment offset. */
static int ipv4_header(const uint8_t *frame, size_t len, struct model_packet *pkt)
{
	size_t l3 = pkt->l3;
	unsigned int version = byte_at(frame, l3) >> 4;
	unsigned int header_bytes = (byte_at(frame, l3) & 0x0f) * 4;
	unsigned int total_length = be16_at(frame, l3 + 2);
	unsigned int fragment_offset = be16_at(frame, l3 + 6) & 0x1fff;

	if (version != 4 || header_bytes < 20)
		return PC_DROP_MALFORMED;
	if (total_length < header_bytes || total_length > len - l3)
		return PC_DROP_MALFORMED;
	pkt->protocol = byte_at(frame, l3 + 9);
	pkt->l4 = l3 + header_bytes;
	pkt->l4_len = total_length - header_bytes;
	pkt->later_fragment = fragment_offset != 0;
	return PC_REASONS;
}

static bool ipv6_extension(uint8_t next)
{
	return next == EXT_HOP_BY_HOP || next == EXT_ROUTING || next == EXT_FRAGMENT ||
	       next == EXT_AH || next == EXT_DEST_OPTS;
}

/*
 * RFC 8200: version, payload length, next header, then the extension chain.
 * Each extension header starts with Next Header; its length is Hdr Ext Len
 * in 8-byte units not counting the first 8 (RFC 8200 4.3-4.6), 8 for the
 * fragment header (4.5), and Payload Len in 4-byte units minus 2 for AH
 * (RFC 4302 2.2). Everything must lie inside the payload length.
 */
static int ipv6_header(const uint8_t *frame, size_t len, struct model_packet *pkt)
{
	size_t l3 = pkt->l3;
	unsigned int version = byte_at(frame, l3) >> 4;
	size_t payload = be16_at(frame, l3 + 4);
	uint8_t next = byte_at(frame, l3 + 6);
	size_t cursor = l3 + 40;
	int headers = 0;

	if (version != 6 || payload > len - l3 - 40)
		return PC_DROP_MALFORMED;
	while (ipv6_extension(next)) {
		size_t ext_len;

		if (headers == MODEL_IPV6_MAX_EXT)
			return PC_DROP_MALFORMED;
		headers++;
		/* Every extension header is at least 8 bytes. */
		if (payload < 8)
			return PC_DROP_MALFORMED;
		if (next == EXT_FRAGMENT)
			ext_len = 8;
		else if (next == EXT_AH)
			ext_len = (byte_at(frame, cursor + 1) + 2) * 4;
		else
			ext_len = (byte_at(frame, cursor + 1) + 1) * 8;
		if (ext_len > payload)
			return PC_DROP_MALFORMED;
		if (next == EXT_FRAGMENT && (be16_at(frame, cursor + 2) >> 3) != 0) {
			/* Offset > 0: what follows is the middle of someone's payload. */
			pkt->later_fragment = true;
			break;
		}
		next = byte_at(frame, cursor);
		cursor += ext_len;
		payload -= ext_len;
	}
	pkt->protocol = next;
	pkt->l4 = cursor;
	pkt->l4_len = payload;
	return PC_REASONS;
}

static bool is_icmp(const struct model_packet *pkt)
{
	return pkt->family == 4 ? pkt->protocol == PROTO_ICMP : pkt->protocol == PROTO_ICMPV6;
}

/* Does the first fragment (or whole packet) hold the L4 header we judge? */
static bool l4_header_fits(const uint8_t *frame, const struct model_packet *pkt)
{
	if (pkt->protocol == PROTO_TCP) {
		unsigned int data_offset;

		if (pkt->l4_len < 20)
			return false;
		data_offset = byte_at(frame, pkt->l4 + 12) >> 4; /* RFC 793: 32-bit words */
		return data_offset >= 5 && data_offset * 4 <= pkt->l4_len;
	}
	if (pkt->protocol == PROTO_UDP)
		return pkt->l4_len >= 8;
	if (is_icmp(pkt))
		return pkt->l4_len >= 8;
	return true;
}

/* ---- step 6 ---------------------------------------------------------------------- */

static bool icmp_essential(const uint8_t *frame, const struct model_packet *pkt)
{
	uint8_t type = byte_at(frame, pkt->l4), code = byte_at(frame, pkt->l4 + 1);

	if (pkt->family == 4)
		return type == 3 && code == 4;
	return type == 2 || (type >= 133 && type <= 137);
}

/* ---- step 7 ---------------------------------------------------------------------- */

/* The scan reason of an illegal combination, or PC_REASONS for a legal one. */
static int tcp_flags_verdict(uint8_t flags)
{
	bool fin = flags & FIN, syn = flags & SYN, rst = flags & RST, ack = flags & ACK;
	bool legal;

	flags &= FIN | SYN | RST | PSH | ACK | URG;
	/* Legal: anything acknowledging, except SYN with FIN or RST; without ACK
	 * a connection request (SYN) or a reset (RST), on their own. */
	if (syn && (fin || rst))
		legal = false;
	else if (ack)
		legal = true;
	else
		legal = flags == SYN || flags == RST;
	if (legal)
		return PC_REASONS;

	if (flags == 0)
		return PC_DROP_SCAN_NULL;
	if (syn && fin)
		return PC_DROP_SCAN_SYNFIN;
	if (syn && rst)
		return PC_DROP_SCAN_SYNRST;
	if ((flags & (FIN | PSH | URG)) == (FIN | PSH | URG))
		return PC_DROP_SCAN_XMAS;
	if (fin)
		return PC_DROP_SCAN_FIN;
	return PC_DROP_SCAN_OTHER;
}

/* ---- steps 8-10 ------------------------------------------------------------------ */

static int port_verdict(const struct model_rules *rules, const struct model_packet *pkt,
			uint16_t port, uint8_t tcp_flags)
{
	enum model_proto proto = pkt->protocol == PROTO_TCP ? MODEL_TCP : MODEL_UDP;
	bool limited = false, source_listed = false;

	/* Step 8: open to everyone, or only to the sources of its "from" lines. */
	for (size_t i = 0; i < rules->n_allows; i++) {
		const struct model_allow *allow = &rules->allows[i];

		if (allow->proto != proto || port < allow->lo || port > allow->hi)
			continue;
		if (!allow->from)
			return PC_PASS_ALLOWED;
		limited = true;
		if (in_list(&pkt->source, allow->from, allow->n_from))
			source_listed = true;
	}
	if (limited)
		return source_listed ? PC_PASS_ALLOWED : PC_DROP_SOURCE_NOT_ALLOWED;

	/* Step 9: a reply, i.e. not a connection request, to the local port range. */
	if (rules->established == MODEL_ESTABLISHED_EPHEMERAL) {
		bool request = proto == MODEL_TCP && (tcp_flags & SYN) && !(tcp_flags & ACK);

		if (!request && port >= rules->ephemeral_lo && port <= rules->ephemeral_hi)
			return PC_PASS_ESTABLISHED;
	}
	/* Step 10 */
	return PC_DROP_NOT_ALLOWED;
}

/* ---- the scan detector ------------------------------------------------------------ */

/* SOURCE as the detector and its bans key it: IPv6 cut to the grouping prefix. */
static struct model_prefix scan_key(const struct model_rules *rules,
				    const struct model_prefix *source)
{
	struct model_prefix key = { .family = source->family };
	unsigned int bits = source->family == 4 ? 32 : rules->ban_ipv6_prefix;

	key.len = bits;
	for (unsigned int bit = 0; bit < bits && bit < 128; bit++)
		key.addr[bit / 8] |= source->addr[bit / 8] & (0x80 >> bit % 8);
	return key;
}

static bool same_key(const struct model_prefix *a, const struct model_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

/* Grow *ARRAY of *CAP elements of SIZE bytes to hold one more; false without memory. */
static bool make_room(void **array, size_t *cap, size_t n, size_t size)
{
	void *grown;

	if (n < *cap)
		return true;
	grown = realloc(*array, (*cap ? *cap * 2 : 64) * size);
	if (!grown)
		return false;
	*array = grown;
	*cap = *cap ? *cap * 2 : 64;
	return true;
}

/* Step 4 for the detector's bans: one in force until NOW reaches its expiry, then gone. */
static bool scan_banned(struct model_detector *d, const struct model_prefix *key, uint64_t now)
{
	for (size_t i = 0; i < d->n_bans; i++) {
		if (!same_key(&d->bans[i].source, key))
			continue;
		if (now < d->bans[i].expires_ns)
			return true;
		d->bans[i] = d->bans[--d->n_bans];
		return false;
	}
	return false;
}

static struct model_scan_track *scan_track(struct model_detector *d, const struct model_prefix *key)
{
	for (size_t i = 0; i < d->n_tracks; i++)
		if (same_key(&d->tracks[i].source, key))
			return &d->tracks[i];
	return NULL;
}

static void scan_forget(struct model_detector *d, struct model_scan_track *track)
{
	*track = d->tracks[--d->n_tracks];
}

/* A denied probe from KEY to PORT at NOW: counted, and the one that reaches the threshold bans. */
static void scan_count(const struct model_rules *rules, struct model_detector *d,
		       const struct model_prefix *key, const struct model_port *port, uint64_t now)
{
	struct model_scan_track *track = scan_track(d, key);
	uint32_t pair = (uint32_t)port->proto << 16 | port->port;

	if (track && now - track->first_ns > rules->scan_window_ns) {
		scan_forget(d, track); /* the window is over: this probe starts anew */
		track = NULL;
	}
	if (!track) {
		if (!make_room((void **)&d->tracks, &d->cap_tracks, d->n_tracks, sizeof(*track)))
			abort();
		track = &d->tracks[d->n_tracks++];
		memset(track, 0, sizeof(*track));
		track->source = *key;
		track->first_ns = now;
	}
	for (size_t i = 0; i < track->n_ports; i++)
		if (track->ports[i] == pair)
			return; /* a port again tells nothing new */
	if (track->n_ports < PC_SCAN_MAX_PORTS)
		track->ports[track->n_ports++] = pair;
	if (track->n_ports != rules->scan_ports)
		return;
	if (!make_room((void **)&d->bans, &d->cap_bans, d->n_bans, sizeof(*d->bans)))
		abort();
	d->bans[d->n_bans++] = (struct model_scan_ban){ *key, now + rules->scan_ban_ns };
	scan_forget(d, track); /* a ban forgets the scan that made it */
}

/* Does a drop for REASON of a packet to PORT count as a probe? */
static bool scan_feeds(const struct model_rules *rules, enum pc_reason reason,
		       const struct model_port *port)
{
	bool denied = reason == PC_DROP_NOT_ALLOWED ||
		      (reason >= PC_DROP_SCAN_NULL && reason <= PC_DROP_SCAN_OTHER);

	return rules->scan_ports && denied && port->valid &&
	       (port->opening || !rules->scan_openings_only);
}

void model_detector_reset(struct model_detector *d)
{
	free(d->tracks);
	free(d->bans);
	free(d->rates);
	memset(d, 0, sizeof(*d));
}

bool model_detector_unban(struct model_detector *d, const struct model_prefix *source)
{
	for (size_t i = 0; i < d->n_bans; i++) {
		if (same_key(&d->bans[i].source, source)) {
			d->bans[i] = d->bans[--d->n_bans];
			return true;
		}
	}
	return false;
}

/* ---- rate limits --------------------------------------------------------------------- */

/* Is SOURCE in some port's "from" list? Those are exempt from limits. */
static bool rate_exempt(const struct model_rules *rules, const struct model_prefix *source)
{
	for (size_t i = 0; i < rules->n_allows; i++)
		if (rules->allows[i].from &&
		    in_list(source, rules->allows[i].from, rules->allows[i].n_from))
			return true;
	return false;
}

/*
 * Step 8's limit for a packet the port allows: rate-limited when KEY has
 * used up the burst of the port's limit line; else the opening is counted.
 * Only with STATE (model_verdict_at), and only for what opens something.
 */
static enum pc_reason rate_verdict(const struct model_rules *rules, struct model_detector *state,
				   const struct model_packet *pkt, const struct model_prefix *key,
				   const struct model_port *where, uint8_t tcp_flags)
{
	struct model_rate *rate = NULL;
	size_t line;

	if (!state)
		return PC_PASS_ALLOWED;
	for (line = 0; line < rules->n_limits; line++)
		if (rules->limits[line].proto == where->proto && where->port >= rules->limits[line].lo &&
		    where->port <= rules->limits[line].hi)
			break;
	if (line == rules->n_limits)
		return PC_PASS_ALLOWED;
	if (where->proto == MODEL_TCP && (tcp_flags & (SYN | ACK)) != SYN)
		return PC_PASS_ALLOWED;
	if (rate_exempt(rules, &pkt->source))
		return PC_PASS_ALLOWED;
	for (size_t i = 0; i < state->n_rates && !rate; i++)
		if (state->rates[i].line == line && same_key(&state->rates[i].source, key))
			rate = &state->rates[i];
	if (!rate) {
		if (!make_room((void **)&state->rates, &state->cap_rates, state->n_rates,
			       sizeof(*rate)))
			abort();
		rate = &state->rates[state->n_rates++];
		*rate = (struct model_rate){ *key, line, 0 };
	}
	if (rate->used >= rules->limits[line].burst)
		return PC_DROP_RATE_LIMITED;
	rate->used++;
	return PC_PASS_ALLOWED;
}

/* ---- the verdict --------------------------------------------------------------------- */

/*
 * The verdict order; with DETECTOR (may be NULL) its bans are checked at
 * step 4 and KEY set to the source as the detector keys it.
 */
static enum pc_reason verdict(const struct model_rules *rules, struct model_detector *detector,
			      uint64_t now, const uint8_t *frame, size_t len,
			      struct model_port *where, struct model_prefix *key)
{
	struct model_packet pkt = { 0 };
	uint16_t ethertype, port;
	uint8_t tcp_flags = 0;
	int reason;

	where->valid = false;

	/* Step 1 */
	reason = link_layer(frame, len, &pkt.l3, &ethertype);
	if (reason != PC_REASONS)
		return reason;
	reason = read_source(frame, len, ethertype, &pkt);
	if (reason != PC_REASONS)
		return reason;

	/* Steps 2-4 */
	if (in_list(&pkt.source, rules->deny, rules->n_deny))
		return PC_DROP_DENIED_SOURCE;
	if (in_list(&pkt.source, rules->trust, rules->n_trust))
		return PC_PASS_TRUSTED;
	if (is_banned(rules, &pkt.source))
		return PC_DROP_BANNED;
	*key = scan_key(rules, &pkt.source);
	if (detector && rules->scan_ports && scan_banned(detector, key, now))
		return PC_DROP_BANNED;

	/* Step 5 */
	reason = pkt.family == 4 ? ipv4_header(frame, len, &pkt) : ipv6_header(frame, len, &pkt);
	if (reason != PC_REASONS)
		return reason;
	if (pkt.later_fragment)
		return rules->frag_deny ? PC_DROP_FRAGMENT : PC_PASS_FRAGMENT;
	if (!l4_header_fits(frame, &pkt))
		return PC_DROP_MALFORMED;

	/* Step 6 */
	if (is_icmp(&pkt)) {
		if (icmp_essential(frame, &pkt))
			return PC_PASS_ICMP_ESSENTIAL;
		return rules->icmp_deny ? PC_DROP_ICMP : PC_PASS_ICMP;
	}
	if (pkt.protocol != PROTO_TCP && pkt.protocol != PROTO_UDP)
		return rules->protos[pkt.protocol / 64] >> (pkt.protocol % 64) & 1
			       ? PC_PASS_OTHER_PROTO
			       : PC_DROP_PROTOCOL;

	/* Step 7; destination port at offset 2 in TCP (RFC 793) and UDP (RFC 768). */
	port = be16_at(frame, pkt.l4 + 2);
	*where = (struct model_port){ true, pkt.protocol == PROTO_TCP ? MODEL_TCP : MODEL_UDP, port,
				      true };
	if (pkt.protocol == PROTO_TCP) {
		tcp_flags = byte_at(frame, pkt.l4 + 13);
		reason = tcp_flags_verdict(tcp_flags);
		where->opening = reason != PC_REASONS || (tcp_flags & (SYN | ACK)) == SYN;
		if (reason != PC_REASONS && !rules->scan_pass)
			return reason;
	}

	/* Steps 8-10 */
	reason = port_verdict(rules, &pkt, port, tcp_flags);
	if (reason == PC_PASS_ALLOWED)
		return rate_verdict(rules, detector, &pkt, key, where, tcp_flags);
	return reason;
}

enum pc_reason model_verdict(const struct model_rules *rules, const uint8_t *frame, size_t len,
			     struct model_port *where)
{
	struct model_port ignored;
	struct model_prefix key;

	return verdict(rules, NULL, 0, frame, len, where ? where : &ignored, &key);
}

enum pc_reason model_verdict_at(const struct model_rules *rules, struct model_detector *detector,
				uint64_t now_ns, const uint8_t *frame, size_t len,
				struct model_port *where)
{
	struct model_port port;
	struct model_prefix key;
	enum pc_reason reason;

	reason = verdict(rules, rules->scan_ports || rules->n_limits ? detector : NULL, now_ns, frame,
			 len, &port, &key);
	/* Step 10's drops and step 7's feed the detector (in monitor mode too). */
	if (scan_feeds(rules, reason, &port))
		scan_count(rules, detector, &key, &port, now_ns);
	if (where)
		*where = port;
	return reason;
}

bool model_drops(const struct model_rules *rules, enum pc_reason reason)
{
	return !rules->monitor && reason < PC_DROP_REASONS;
}

const struct model_rules *model_rules_at(const struct model_rollout *rollout, uint64_t now_ns)
{
	if (rollout->pending && now_ns >= rollout->deadline_ns)
		return rollout->previous;
	return rollout->current;
}
