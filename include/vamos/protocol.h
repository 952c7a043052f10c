/* SPDX-License-Identifier: MIT */
/*
 * What libvamos-client and vamosd say to each other inside a channel's
 * records (vamos/channel.h). Every record's type is one of enum
 * vamos_msg_type and its payload starts with the matching struct, all
 * little-endian, 8-byte aligned:
 *
 *   client                                   vamosd
 *   HELLO {version, nonce}        ------>
 *                                 <------    WELCOME {version, channel, boot id}
 *   REQUEST {id, service, op} + bytes  ->    (dispatched by service id)
 *                                 <------    REPLY {id, status} + bytes
 *
 * A session is one channel after a HELLO/WELCOME exchange. The client
 * ignores everything before its WELCOME (stale replies of an earlier
 * session) and matches replies to requests by id; replies may come in any
 * order (a service that blocks runs off the channel's poller). The host
 * checks every request before use: a malformed record ends the session
 * with a protocol error, a request for an unknown service gets status
 * -ENOENT. A new boot id means vamosd restarted: requests in flight before
 * were lost with it and are failed by the client, never sent again.
 */
#ifndef VAMOS_PROTOCOL_H
#define VAMOS_PROTOCOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this protocol; HELLO and WELCOME carry it. */
#define VAMOS_PROTOCOL_VERSION 1u

/** Record types of the session protocol. */
enum vamos_msg_type {
	VAMOS_MSG_HELLO = 0x10,   /**< client -> host: struct vamos_hello */
	VAMOS_MSG_WELCOME = 0x11, /**< host -> client: struct vamos_welcome */
	VAMOS_MSG_REQUEST = 0x20, /**< client -> host: vamos_request_header + bytes */
	VAMOS_MSG_REPLY = 0x21,   /**< host -> client: vamos_reply_header + bytes */
};

/** Services vamosd ships; ids up to 0xffff. */
enum vamos_service_id {
	VAMOS_SERVICE_ECHO = 1,  /**< replies with the request's bytes */
	VAMOS_SERVICE_NOOP = 2,  /**< replies with status 0 and no bytes */
	VAMOS_SERVICE_SLEEP = 3, /**< blocks op milliseconds, then replies (tests) */
	VAMOS_SERVICE_MYSQL = 16, /**< the MySQL handler layer */
};

struct vamos_hello {
	uint32_t version; /**< VAMOS_PROTOCOL_VERSION */
	uint32_t flags;   /**< zero */
	uint64_t nonce;   /**< echoed in WELCOME: tells this session's from
			       an earlier one's */
};

struct vamos_welcome {
	uint32_t version;     /**< VAMOS_PROTOCOL_VERSION */
	uint32_t channel;     /**< channel index on the host */
	uint64_t nonce;       /**< the HELLO's */
	uint64_t boot_id;     /**< random per vamosd start */
	uint32_t max_request; /**< largest request payload accepted */
	uint32_t reserved;
};

struct vamos_request_header {
	uint64_t id;      /**< chosen by the client, echoed in the reply */
	uint16_t service; /**< enum vamos_service_id or a registered one */
	uint16_t op;      /**< the service's operation */
	uint32_t reserved; /**< zero */
};

struct vamos_reply_header {
	uint64_t id;      /**< the request's */
	int32_t status;   /**< 0, or a negative errno from the service or
			       vamosd (-ENOENT: no such service) */
	uint32_t reserved;
};

#ifdef __cplusplus
#define VAMOS_STATIC_ASSERT static_assert
#else
#define VAMOS_STATIC_ASSERT _Static_assert
#endif
VAMOS_STATIC_ASSERT(sizeof(struct vamos_hello) == 16, "hello is 16 bytes");
VAMOS_STATIC_ASSERT(sizeof(struct vamos_welcome) == 32, "welcome is 32 bytes");
VAMOS_STATIC_ASSERT(sizeof(struct vamos_request_header) == 16, "request header is 16 bytes");
VAMOS_STATIC_ASSERT(sizeof(struct vamos_reply_header) == 16, "reply header is 16 bytes");

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_PROTOCOL_H */
