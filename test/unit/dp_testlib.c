/* Helpers of the data-path unit tests (dp_testlib.h). */
#include "dp_testlib.h"

#include <string.h>

#include "qgw_drop.h"

struct rte_mempool *pool;

void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

struct rte_mbuf *
mbuf_headroom(const uint8_t *buf, unsigned int len, uint16_t headroom)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memset(m->buf_addr, 0xa5, m->buf_len);
	m->data_off = headroom;
	CU_ASSERT_FATAL(rte_pktmbuf_tailroom(m) >= len);
	p = rte_pktmbuf_append(m, (uint16_t)len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, buf, len);
	return m;
}

struct rte_mbuf *
mbuf_from(const uint8_t *buf, unsigned int len)
{
	return mbuf_headroom(buf, len, RTE_PKTMBUF_HEADROOM);
}

struct rte_mbuf *
mbuf_segs(const uint8_t *buf, unsigned int len, const unsigned int *cuts, unsigned int nb_cuts)
{
	struct rte_mbuf *head = NULL;
	unsigned int off = 0;

	for (unsigned int s = 0; s <= nb_cuts; s++) {
		unsigned int n = s < nb_cuts ? cuts[s] : len - off;
		struct rte_mbuf *m = mbuf_from(buf + off, n);

		if (head == NULL)
			head = m;
		else
			CU_ASSERT_FATAL(rte_pktmbuf_chain(head, m) == 0);
		off += n;
	}
	CU_ASSERT_EQUAL_FATAL(head->pkt_len, len);
	CU_ASSERT_EQUAL_FATAL(head->nb_segs, nb_cuts + 1);
	return head;
}

unsigned int
pool_avail(void)
{
	return rte_mempool_avail_count(pool);
}

uint64_t
sum_drops(const uint64_t *drop)
{
	uint64_t n = 0;

	for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
		n += drop[r];
	return n;
}

void
check_frame(const char *what, const struct rte_mbuf *m, const uint8_t *exp, unsigned int len)
{
	static uint8_t tmp[16384];
	const char *reason = NULL;
	const uint8_t *got;
	unsigned int i;

	CHECK(rte_mbuf_check(m, 1, &reason) == 0, what);
	if (reason != NULL)
		printf(" (%s)", reason);
	CHECK_EQ(m->pkt_len, len, what);
	if (m->pkt_len != len || len > sizeof(tmp))
		return;
	got = rte_pktmbuf_read(m, 0, len, tmp);
	CHECK(got != NULL, what);
	if (got == NULL)
		return;
	for (i = 0; i < len && got[i] == exp[i]; i++)
		;
	CHECK(i == len, what);
	if (i < len) {
		printf(" first difference at byte %u:\n      got ", i);
		for (unsigned int j = i & ~7u; j < len && j < (i & ~7u) + 24; j++)
			printf("%02x", got[j]);
		printf("\n     want ");
		for (unsigned int j = i & ~7u; j < len && j < (i & ~7u) + 24; j++)
			printf("%02x", exp[j]);
	}
}
