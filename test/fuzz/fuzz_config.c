/*
 * libFuzzer target: arbitrary bytes as a config document.
 *
 * qgw_config_load_string() must never crash or leak, whatever it is given,
 * and must say why it refuses a document. A document it accepts must keep
 * every rule of docs/config.md (checked here on the result: names, ranges,
 * stacks, TPIDs, MTU arithmetic), must build a flow table in which each
 * flow's stacks find that flow and its rewrite entries say what the config
 * says, and must survive a round trip: qgw_config_dump() of it, loaded
 * again, is the same config, dumps to the same document and differs from
 * the first in nothing (qgw_config_diff()).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_common.h>
#include <rte_memory.h>

#include "fuzz_common.h"
#include "qgw_config.h"
#include "qgw_runtime.h"
#include "qgw_table.h"

static bool
name_ok(const char *s, size_t max, bool letter_first)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	if (letter_first && !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_-.:", s[i]) != NULL))
			return false;
	return true;
}

static bool
same_stack(const struct qgw_stack_cfg *a, const struct qgw_stack_cfg *b)
{
	if (a->nb_tags != b->nb_tags)
		return false;
	for (unsigned int t = 0; t < a->nb_tags; t++)
		if (a->tag[t].tpid != b->tag[t].tpid || a->tag[t].vid != b->tag[t].vid)
			return false;
	return true;
}

/* Every rule of docs/config.md, on an accepted config. */
static void
check_rules(const struct qgw_config *c)
{
	static const uint16_t protocols[] = {0x0800, 0x0806, 0x86dd, 0x8847,
					     0x8848, 0x88cc, 0x8809};

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		const struct qgw_port_cfg *pc = &c->port[p];

		FUZZ_CHECK(name_ok(pc->name, QGW_PORT_NAME_MAX, true) &&
				   strcmp(pc->name, "name") != 0,
			   "port name \"%s\" accepted", pc->name);
		FUZZ_CHECK(pc->device[0] != '\0', "port %s: empty device accepted", pc->name);
		FUZZ_CHECK(pc->max_frame >= 64 && pc->max_frame <= 16384, "max_frame %u accepted",
			   pc->max_frame);
	}
	FUZZ_CHECK(strcmp(c->port[0].name, c->port[1].name) != 0, "two ports named %s",
		   c->port[0].name);
	FUZZ_CHECK(strcmp(c->port[0].device, c->port[1].device) != 0, "two ports on device %s",
		   c->port[0].device);
	FUZZ_CHECK(c->nb_flows <= QGW_MAX_FLOWS, "%u flows accepted", c->nb_flows);

	for (uint32_t f = 0; f < c->nb_flows; f++) {
		const struct qgw_flow_cfg *fc = &c->flows[f];

		FUZZ_CHECK(name_ok(fc->name, QGW_FLOW_NAME_MAX, false), "flow name \"%s\" accepted",
			   fc->name);
		FUZZ_CHECK(fc->mtu >= 68 && fc->mtu <= 16384, "%s: mtu %u accepted", fc->name,
			   fc->mtu);
		FUZZ_CHECK(fc->customer_tags <= 2, "%s: customer_tags %u", fc->name,
			   fc->customer_tags);
		FUZZ_CHECK(fc->oversize_icmp <= 1, "%s: oversize %u", fc->name, fc->oversize_icmp);
		FUZZ_CHECK(fc->icmp_rate <= 1000000 && fc->icmp_burst >= 1 &&
				   fc->icmp_burst <= 1000000,
			   "%s: icmp_rate %u icmp_burst %u accepted", fc->name, fc->icmp_rate,
			   fc->icmp_burst);
		FUZZ_CHECK((fc->mss4 == 0 || fc->mss4 >= 88) && (fc->mss6 == 0 || fc->mss6 >= 88),
			   "%s: MSS %u / %u accepted", fc->name, fc->mss4, fc->mss6);
		for (uint32_t g = 0; g < f; g++)
			FUZZ_CHECK(strcmp(fc->name, c->flows[g].name) != 0, "two flows named %s",
				   fc->name);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			const struct qgw_stack_cfg *s = &fc->stack[p];

			FUZZ_CHECK(s->nb_tags <= 2, "%s: %u tags", fc->name, s->nb_tags);
			FUZZ_CHECK(fc->mtu + 14 + 4 * (s->nb_tags + fc->customer_tags) <=
					   c->port[p].max_frame,
				   "%s: mtu %u + headers over %s max_frame %u", fc->name, fc->mtu,
				   c->port[p].name, c->port[p].max_frame);
			for (unsigned int t = 0; t < s->nb_tags; t++) {
				FUZZ_CHECK(s->tag[t].tpid >= 0x0600, "%s: TPID 0x%04x", fc->name,
					   s->tag[t].tpid);
				for (unsigned int k = 0; k < RTE_DIM(protocols); k++)
					FUZZ_CHECK(s->tag[t].tpid != protocols[k],
						   "%s: protocol 0x%04x accepted as a TPID",
						   fc->name, s->tag[t].tpid);
				FUZZ_CHECK(s->tag[t].vid >= 1 && s->tag[t].vid <= 4094,
					   "%s: VID %u", fc->name, s->tag[t].vid);
				FUZZ_CHECK(s->tag[t].pcp >= -1 && s->tag[t].pcp <= 7, "%s: PCP %d",
					   fc->name, s->tag[t].pcp);
			}
			for (uint32_t g = 0; g < f; g++)
				FUZZ_CHECK(!same_stack(s, &c->flows[g].stack[p]),
					   "flows %s and %s claim the same stack on %s", fc->name,
					   c->flows[g].name, c->port[p].name);
		}
	}
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		uint16_t seen[QGW_MAX_FLOWS * QGW_MAX_TAGS];
		unsigned int nb = 0;

		for (uint32_t f = 0; f < c->nb_flows; f++) {
			const struct qgw_stack_cfg *s = &c->flows[f].stack[p];

			for (unsigned int t = 0; t < s->nb_tags; t++) {
				unsigned int k;

				for (k = 0; k < nb && seen[k] != s->tag[t].tpid; k++)
					;
				if (k == nb)
					seen[nb++] = s->tag[t].tpid;
			}
		}
		FUZZ_CHECK(nb <= QGW_MAX_TPIDS, "%u TPIDs on port %s", nb, c->port[p].name);
	}
}

static bool
same_config(const struct qgw_config *a, const struct qgw_config *b)
{
	if (memcmp(a->port, b->port, sizeof(a->port)) != 0 || a->nb_flows != b->nb_flows)
		return false;
	for (uint32_t f = 0; f < a->nb_flows; f++) {
		const struct qgw_flow_cfg *x = &a->flows[f], *y = &b->flows[f];

		if (strcmp(x->name, y->name) != 0 || x->mtu != y->mtu ||
		    x->customer_tags != y->customer_tags || x->oversize_icmp != y->oversize_icmp ||
		    x->mss4 != y->mss4 || x->mss6 != y->mss6 || x->icmp_rate != y->icmp_rate ||
		    x->icmp_burst != y->icmp_burst)
			return false;
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			if (!same_stack(&x->stack[p], &y->stack[p]))
				return false;
			for (unsigned int t = 0; t < x->stack[p].nb_tags; t++)
				if (x->stack[p].tag[t].pcp != y->stack[p].tag[t].pcp)
					return false;
		}
	}
	return true;
}

/* Each flow's stacks lead to it; its rewrite entries say what the config says. */
static void
check_table(const struct qgw_config *c, const struct qgw_table *t)
{
	FUZZ_CHECK(t->nb_flows == c->nb_flows, "table of %u flows for %u", t->nb_flows,
		   c->nb_flows);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		const struct qgw_port_table *pt = &t->port[p];

		FUZZ_CHECK(t->max_frame[p] == c->port[p].max_frame, "port %u max_frame", p);
		FUZZ_CHECK(pt->dir[0].drop == QGW_DROP_NO_FLOW + 1 && pt->dir[0].fast_span == 0 &&
				   (pt->dir[0].fast_lo & UINT32_C(0x80000000)),
			   "port %u: entry 0 is not the no-flow drop", p);
		for (uint32_t f = 0; f < c->nb_flows; f++) {
			const struct qgw_flow_cfg *fc = &c->flows[f];
			const struct qgw_stack_cfg *s = &fc->stack[p];
			const struct qgw_dp_dir *d = &pt->dir[f + 1];
			uint32_t pop = 4 * s->nb_tags, push = 4 * fc->stack[1 - p].nb_tags;
			uint32_t max_out = c->port[1 - p].max_frame;
			uint8_t idx;

			FUZZ_CHECK(d->pop == pop && d->push == push && d->out == 1 - p &&
					   d->slot == f && d->mtu == fc->mtu &&
					   d->max_out == max_out && d->icmp == fc->oversize_icmp &&
					   d->mss4 == fc->mss4 && d->mss6 == fc->mss6 &&
					   d->safe_len == RTE_MIN(14 + pop + fc->mtu,
								  max_out + pop - push),
				   "%s: rewrite entry from port %u disagrees with the config",
				   fc->name, p);
			/* The fast range: only frames within safe_len that need no padding. */
			FUZZ_CHECK(d->drop == 0 && d->move == (int)push - (int)pop &&
					   (d->fast_lo & UINT32_C(0x80000000) ?
						    d->fast_span == 0 :
						    (uint64_t)d->fast_lo + d->fast_span <= d->safe_len &&
							    d->fast_lo + push >= QGW_MIN_FRAME + pop &&
							    (d->fast_lo == 0 ||
							     d->fast_lo + push == QGW_MIN_FRAME + pop)),
				   "%s: fast range from port %u is [%u, +%u] for safe_len %u",
				   fc->name, p, d->fast_lo, d->fast_span, d->safe_len);
			if (s->nb_tags == 0) {
				FUZZ_CHECK(pt->any == f + 1, "%s: catch-all of port %u is %u",
					   fc->name, p, pt->any);
				continue;
			}
			for (unsigned int k = 0; k < s->nb_tags; k++) {
				idx = pt->tpid[s->tag[k].tpid];
				FUZZ_CHECK(idx != QGW_TPID_NONE && idx != QGW_TPID_OTHER &&
						   idx <= QGW_MAX_TPIDS,
					   "%s: TPID 0x%04x maps to %u", fc->name, s->tag[k].tpid,
					   idx);
			}
			idx = pt->tpid[s->tag[0].tpid];
			if (s->nb_tags == 1) {
				FUZZ_CHECK(pt->l1[(idx - 1) * QGW_VID_SPACE + s->tag[0].vid].flow ==
						   f + 1,
					   "%s: one-tag lookup on port %u misses", fc->name, p);
			} else {
				uint8_t b[8] = {s->tag[0].tpid >> 8,	     s->tag[0].tpid & 0xff,
						(s->tag[0].vid >> 8) & 0x0f, s->tag[0].vid & 0xff,
						s->tag[1].tpid >> 8,	     s->tag[1].tpid & 0xff,
						(s->tag[1].vid >> 8) & 0x0f, s->tag[1].vid & 0xff};
				uint64_t key;
				uint32_t h, n = 0;

				memcpy(&key, b, sizeof(key));
				FUZZ_CHECK(pt->l1[(idx - 1) * QGW_VID_SPACE + s->tag[0].vid].l2 !=
						   0,
					   "%s: no two-tag mark on port %u", fc->name, p);
				FUZZ_CHECK(pt->l2 != NULL, "%s: no two-tag hash on port %u",
					   fc->name, p);
				for (h = qgw_l2_hash(key, pt->l2_shift);
				     pt->l2[h].key != 0 && pt->l2[h].key != key && n <= pt->l2_mask;
				     h = (h + 1) & pt->l2_mask, n++)
					;
				FUZZ_CHECK(pt->l2[h].key == key && pt->l2[h].flow == f + 1,
					   "%s: two-tag lookup on port %u misses", fc->name, p);
			}
		}
	}
}

static void
check_round_trip(const struct qgw_config *cfg)
{
	struct qgw_errors errs = {0};
	struct qgw_config *again;
	json_t *dump = qgw_config_dump(cfg), *dump2, *diff;
	char *text;

	FUZZ_CHECK(dump != NULL, "no dump");
	text = json_dumps(dump, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	FUZZ_CHECK(text != NULL, "cannot write the dump");
	again = qgw_config_load_string(text, &errs);
	if (again == NULL) {
		for (size_t i = 0; i < errs.nb; i++)
			fprintf(stderr, "fuzz: %s\n", errs.msg[i]);
		FUZZ_FAIL("the dump of an accepted config is refused:\n%s", text);
	}
	if (!same_config(cfg, again))
		FUZZ_FAIL("the dump loads as a different config:\n%s", text);
	dump2 = qgw_config_dump(again);
	FUZZ_CHECK(json_equal(dump, dump2), "the dump of the dump differs:\n%s", text);
	diff = qgw_config_diff(cfg, again);
	FUZZ_CHECK(json_array_size(json_object_get(diff, "added")) == 0 &&
			   json_array_size(json_object_get(diff, "removed")) == 0 &&
			   json_object_size(json_object_get(diff, "changed")) == 0 &&
			   json_array_size(json_object_get(diff, "ports")) == 0 &&
			   json_integer_value(json_object_get(diff, "unchanged")) == cfg->nb_flows,
		   "a config differs from its own round trip:\n%s", text);
	json_decref(diff);
	json_decref(dump2);
	json_decref(dump);
	free(text);
	qgw_config_free(again);
	qgw_errors_clear(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg, *quiet;
	struct qgw_table *t;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = qgw_config_load_string(text, &errs);
	quiet = qgw_config_load_string(text, NULL);
	FUZZ_CHECK((cfg == NULL) == (quiet == NULL), "%s with an error list, %s without",
		   cfg ? "accepted" : "refused", quiet ? "accepted" : "refused");
	qgw_config_free(quiet);
	if (cfg == NULL) {
		FUZZ_CHECK(errs.nb > 0, "refused without an error message");
		for (size_t i = 0; i < errs.nb; i++)
			FUZZ_CHECK(errs.msg[i] != NULL && errs.msg[i][0] != '\0',
				   "empty error message");
	} else {
		FUZZ_CHECK(errs.nb == 0, "accepted with %zu errors, the first: %s", errs.nb,
			   errs.msg[0]);
		check_rules(cfg);
		t = qgw_table_build(cfg, NULL, 1, SOCKET_ID_ANY);
		FUZZ_CHECK(t != NULL, "no table for an accepted config");
		check_table(cfg, t);
		qgw_table_free(t);
		check_round_trip(cfg);
		qgw_config_free(cfg);
	}
	qgw_errors_clear(&errs);
	free(text);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	RTE_SET_USED(argc);
	qgw_fuzz_eal_init((*argv)[0]);
	return 0;
}
