/*
 * What the data-path unit tests (test_datapath.c, test_mtu.c) share: named
 * assertions, wire tags, mbufs built from bytes, frame comparison.
 */
#ifndef QGW_DP_TESTLIB_H
#define QGW_DP_TESTLIB_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

/** The mbuf pool of the test program (created by its main()). */
extern struct rte_mempool *pool;

/** A tag as it appears on the wire. */
struct wtag {
	uint16_t tpid;
	uint16_t tci;
};

/* An assertion that names the case it belongs to when it fails. */
#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		CU_BOOL ok_ = (cond) ? CU_TRUE : CU_FALSE;                                         \
		CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);             \
		if (!ok_)                                                                          \
			printf("\n    %s:%d: %s: %s", __FILE__, __LINE__, (what), #cond);          \
	} while (0)

#define CHECK_EQ(a, b, what)                                                                       \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		CU_BOOL ok_ = a_ == b_ ? CU_TRUE : CU_FALSE;                                       \
		CU_assertImplementation(ok_, __LINE__, #a " == " #b, __FILE__, "", CU_FALSE);      \
		if (!ok_)                                                                          \
			printf("\n    %s:%d: %s: %s is %" PRIu64 ", want %" PRIu64, __FILE__,      \
			       __LINE__, (what), #a, a_, b_);                                      \
	} while (0)

/** Store v big-endian at p. */
void put16(uint8_t *p, uint16_t v);

/** One segment holding buf behind the given headroom; the rest of the buffer is 0xa5,
 * so padding that does not write zeros shows. */
struct rte_mbuf *mbuf_headroom(const uint8_t *buf, unsigned int len, uint16_t headroom);

/** One segment holding buf behind the default headroom. */
struct rte_mbuf *mbuf_from(const uint8_t *buf, unsigned int len);

/** A chain: nb_cuts segments of the given lengths, then one with the rest. */
struct rte_mbuf *mbuf_segs(const uint8_t *buf, unsigned int len, const unsigned int *cuts,
			   unsigned int nb_cuts);

/** Free mbufs in the pool. */
unsigned int pool_avail(void);

/** Sum of a drop-reason counter array (QGW_DROP__MAX entries). */
uint64_t sum_drops(const uint64_t *drop);

/** Compare a frame, across its segments, with the expected bytes (at most 16 KiB). */
void check_frame(const char *what, const struct rte_mbuf *m, const uint8_t *exp,
		 unsigned int len);

#endif /* QGW_DP_TESTLIB_H */
