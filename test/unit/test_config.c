/*
 * Unit tests of the config validator (lib/control/config.c, qgw_config.h).
 *
 * Good documents: the issue's example and variations of it, checking that
 * every value lands in the right struct field (port names and order, devices,
 * max_frame default and explicit, tpid as hex string and as integer, vid, pcp
 * default and explicit, stacks of 0, 1 and 2 tags, empty flows, "version").
 *
 * Bad documents: tables of cases, each with the exact list of messages the
 * validator must report (whole list compared: count, order and text, one
 * assertion per message): syntax errors with line and column, the document's
 * shape, ports, tags, flows, stack conflicts, limits, and one document with
 * many errors that must all be reported in one run.
 *
 * Also qgw_config_port_index(), qgw_stack_format() and the error list.
 *
 * JSON in this file is written with ' where the document has ", so the
 * tables stay readable; load() turns every ' into " before parsing. Expected
 * messages are plain C strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "qgw_config.h"

#define MAX_EXPECTED 24

/* The two ports of the issue's example; most documents below use them. */
#define PORTS "'ports': {'twaren': {'device': '0000:3b:00.0'}, 'ccx': {'device': 'net_pcap1'}}"
#define DOC(flows) "{" PORTS ", 'flows': [" flows "]}"
#define FLOW(name, tw, cx) "{'name': '" name "', 'twaren': [" tw "], 'ccx': [" cx "]}"
#define T(tpid, vid) "{'tpid': '" tpid "', 'vid': " #vid "}"
/* A document whose only tag under test is /flows/0/twaren/0. */
#define TAG_DOC(tag) DOC(FLOW("f", tag, ""))
/* A document with one port (ccx) changed. */
#define PORT_DOC(ccx) "{'ports': {'twaren': {'device': 'net_pcap0'}, 'ccx': " ccx "}, 'flows': []}"

#define S31 "abcdefghijklmnopqrstuvwxyzABCDE"
#define S63 S31 S31 "0"

#define PORT_NAME_MSG                                                                              \
	"port names start with a letter, use letters, digits, '_', '-', '.', ':', have at "        \
	"most 31 characters and are not a flow key (name, mtu, oversize, mss_clamp, "            \
	"customer_tags, icmp_rate, icmp_burst)"
#define FLOW_NAME_MSG                                                                              \
	"flow names use letters, digits, '_', '-', '.', ':' and have 1 to 63 characters"
#define NOT_HEX(s) "/flows/0/twaren/0/tpid: \"" s "\" is not a hex string like \"0x88a8\""
#define NOT_ETHERTYPE(s) "/flows/0/twaren/0/tpid: " s " is not an EtherType (range 0x0600..0xffff)"
#define MISSING_STACK(f, port)                                                                     \
	"/flows/" f ": missing key \"" port                                                        \
	"\" (the flow's tag stack on that port; [] for untagged)"

static const char issue_example[] =
	"{'ports': {'twaren': {'device': '0000:3b:00.0', 'max_frame': 1526},"
	" 'ccx': {'device': 'net_pcap1', 'max_frame': 1522}},\n"
	" 'flows': [\n"
	"  {'name': 'twcc-aws-tokyo', 'twaren': [{'tpid': '0x88a8', 'vid': 100}],"
	" 'ccx': [{'tpid': '0x8100', 'vid': 3001}]},\n"
	"  {'name': 'lab-2to1', 'twaren': [{'tpid': '0x88a8', 'vid': 200}, {'tpid': '0x8100',"
	" 'vid': 30}], 'ccx': [{'tpid': '0x9100', 'vid': 3002, 'pcp': 5}]}]}";

/* An assertion whose failure report names the case and what differed. */
#define CHECK(cond, ...) check((cond) ? CU_TRUE : CU_FALSE, __LINE__, __func__, __VA_ARGS__)

static void __attribute__((format(printf, 4, 5)))
check(CU_BOOL ok, unsigned int line, const char *func, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok, line, msg, __FILE__, func, CU_FALSE);
}

static struct qgw_config *
load(const char *src, struct qgw_errors *errs)
{
	struct qgw_config *cfg;
	char *text = strdup(src);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (char *c = text; *c != '\0'; c++)
		if (*c == '\'')
			*c = '"';
	cfg = qgw_config_load_string(text, errs);
	free(text);
	return cfg;
}

/* Load a document that must be valid; NULL (and a failed assertion) if not. */
static struct qgw_config *
load_ok(const char *name, const char *src)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg = load(src, &errs);
	size_t nb = errs.nb;

	CHECK(cfg != NULL && nb == 0, "%s: valid, got %zu errors, first: %s", name, nb,
	      nb ? errs.msg[0] : "(none)");
	qgw_errors_clear(&errs);
	if (nb > 0) {
		qgw_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct bad_case {
	const char *name;
	const char *json;
	const char *errs[MAX_EXPECTED + 1]; /* every expected message, in order; NULL ends */
};

static void
run_bad(const struct bad_case *cases, size_t nb)
{
	for (size_t c = 0; c < nb; c++) {
		const struct bad_case *bc = &cases[c];
		struct qgw_errors errs = {0};
		struct qgw_config *cfg;
		size_t nb_exp = 0;

		while (bc->errs[nb_exp] != NULL)
			nb_exp++;
		errno = 0;
		cfg = load(bc->json, &errs);
		CHECK(cfg == NULL, "%s: refused", bc->name);
		CHECK(cfg != NULL || errno == EINVAL, "%s: errno %d, expected EINVAL", bc->name,
		      errno);
		CHECK(errs.nb == nb_exp, "%s: %zu errors, expected %zu", bc->name, errs.nb, nb_exp);
		for (size_t i = 0; i < nb_exp || i < errs.nb; i++) {
			const char *got = i < errs.nb ? errs.msg[i] : NULL;
			const char *exp = i < nb_exp ? bc->errs[i] : NULL;

			CHECK(got != NULL && exp != NULL && strcmp(got, exp) == 0,
			      "%s: error %zu is <%s>, expected <%s>", bc->name, i,
			      got ? got : "(none)", exp ? exp : "(none)");
		}
		qgw_config_free(cfg);
		qgw_errors_clear(&errs);
	}
}

#define RUN_BAD(cases) run_bad(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- good documents ---------------------------------------------------- */

static void
check_tag(const char *what, const struct qgw_tag_cfg *t, uint16_t tpid, uint16_t vid, int pcp)
{
	CHECK(t->tpid == tpid, "%s: tpid 0x%04x, expected 0x%04x", what, t->tpid, tpid);
	CHECK(t->vid == vid, "%s: vid %u, expected %u", what, t->vid, vid);
	CHECK(t->pcp == pcp, "%s: pcp %d, expected %d", what, t->pcp, pcp);
}

static void
test_issue_example(void)
{
	struct qgw_config *cfg = load_ok("issue example", issue_example);
	const struct qgw_flow_cfg *f;

	if (cfg == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->port[0].name, "twaren");
	CU_ASSERT_STRING_EQUAL(cfg->port[0].device, "0000:3b:00.0");
	CU_ASSERT_EQUAL(cfg->port[0].max_frame, 1526);
	CU_ASSERT_STRING_EQUAL(cfg->port[1].name, "ccx");
	CU_ASSERT_STRING_EQUAL(cfg->port[1].device, "net_pcap1");
	CU_ASSERT_EQUAL(cfg->port[1].max_frame, 1522);
	CU_ASSERT_EQUAL_FATAL(cfg->nb_flows, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->flows);

	f = &cfg->flows[0];
	CU_ASSERT_STRING_EQUAL(f->name, "twcc-aws-tokyo");
	CU_ASSERT_EQUAL(f->stack[0].nb_tags, 1);
	check_tag("flow 0 twaren 0", &f->stack[0].tag[0], 0x88a8, 100, -1);
	CU_ASSERT_EQUAL(f->stack[1].nb_tags, 1);
	check_tag("flow 0 ccx 0", &f->stack[1].tag[0], 0x8100, 3001, -1);

	f = &cfg->flows[1];
	CU_ASSERT_STRING_EQUAL(f->name, "lab-2to1");
	CU_ASSERT_EQUAL(f->stack[0].nb_tags, 2);
	check_tag("flow 1 twaren 0", &f->stack[0].tag[0], 0x88a8, 200, -1);
	check_tag("flow 1 twaren 1", &f->stack[0].tag[1], 0x8100, 30, -1);
	CU_ASSERT_EQUAL(f->stack[1].nb_tags, 1);
	check_tag("flow 1 ccx 0", &f->stack[1].tag[0], 0x9100, 3002, 5);
	qgw_config_free(cfg);
}

/* Ports keep document order; names, devices and max_frame default. */
static void
test_ports(void)
{
	static const char doc[] = "{'flows': [], 'version': 1,"
				  " 'ports': {'ccx': {'max_frame': 64, 'device': 'net_null1'},"
				  " 'tw:0_a-b.c': {'device': '0000:3b:00.0'}}}";
	struct qgw_config *cfg = load_ok("ports", doc);

	if (cfg == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->port[0].name, "ccx");
	CU_ASSERT_STRING_EQUAL(cfg->port[0].device, "net_null1");
	CU_ASSERT_EQUAL(cfg->port[0].max_frame, 64);
	CU_ASSERT_STRING_EQUAL(cfg->port[1].name, "tw:0_a-b.c");
	CU_ASSERT_STRING_EQUAL(cfg->port[1].device, "0000:3b:00.0");
	CU_ASSERT_EQUAL(cfg->port[1].max_frame, QGW_MAX_FRAME_DEFAULT);
	CU_ASSERT_EQUAL(cfg->port[1].max_frame, 1522);
	CU_ASSERT_EQUAL(cfg->nb_flows, 0);

	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "ccx"), 0);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "tw:0_a-b.c"), 1);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "twaren"), -ENOENT);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "CCX"), -ENOENT);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, ""), -ENOENT);
	qgw_config_free(cfg);

	/* The longest names allowed, max_frame at its top. */
	cfg = load_ok("ports at limits",
		      "{'ports': {'" S31 "': {'device': '" S63 "', 'max_frame': 16384},"
		      " 'b': {'device': 'x'}}, 'flows': []}");
	if (cfg == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->port[0].name, S31);
	CU_ASSERT_STRING_EQUAL(cfg->port[0].device, S63);
	CU_ASSERT_EQUAL(cfg->port[0].max_frame, 16384);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, S31), 0);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "b"), 1);
	qgw_config_free(cfg);
}

/* Every accepted spelling of a tag, and the values it yields. */
static void
test_tag_values(void)
{
	static const struct {
		const char *tag;
		uint16_t tpid;
		uint16_t vid;
		int pcp;
	} cases[] = {
		{"{'tpid': '0x88a8', 'vid': 100}", 0x88a8, 100, -1},
		{"{'tpid': '0X88A8', 'vid': 100}", 0x88a8, 100, -1},
		{"{'tpid': '0x8100', 'vid': 1}", 0x8100, 1, -1},
		{"{'tpid': '0x9100', 'vid': 4094}", 0x9100, 4094, -1},
		{"{'tpid': '0x600', 'vid': 7}", 0x0600, 7, -1},
		{"{'tpid': '0x0600', 'vid': 7}", 0x0600, 7, -1},
		{"{'tpid': '0xffff', 'vid': 7}", 0xffff, 7, -1},
		{"{'tpid': 33024, 'vid': 7}", 0x8100, 7, -1},
		{"{'tpid': 34984, 'vid': 7}", 0x88a8, 7, -1},
		{"{'tpid': 1536, 'vid': 7}", 0x0600, 7, -1},
		{"{'tpid': 65535, 'vid': 7}", 0xffff, 7, -1},
		{"{'tpid': '0x9200', 'vid': 7, 'pcp': 0}", 0x9200, 7, 0},
		{"{'tpid': '0x9300', 'vid': 7, 'pcp': 7}", 0x9300, 7, 7},
		{"{'pcp': 3, 'vid': 42, 'tpid': '0x88a8'}", 0x88a8, 42, 3},
	};
	char doc[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qgw_config *cfg;

		snprintf(doc, sizeof(doc),
			 "{" PORTS ", 'flows': [{'name': 'f', 'twaren': [%s], 'ccx': []}]}",
			 cases[i].tag);
		cfg = load_ok(cases[i].tag, doc);
		if (cfg == NULL)
			continue;
		CHECK(cfg->flows[0].stack[0].nb_tags == 1, "%s: one tag", cases[i].tag);
		check_tag(cases[i].tag, &cfg->flows[0].stack[0].tag[0], cases[i].tpid, cases[i].vid,
			  cases[i].pcp);
		CHECK(cfg->flows[0].stack[1].nb_tags == 0, "%s: ccx untagged", cases[i].tag);
		qgw_config_free(cfg);
	}
}

/* Stacks of 0, 1 and 2 tags; what makes two stacks distinct. */
static void
test_stacks(void)
{
	/* clang-format off */
	static const char doc[] = DOC(
		FLOW("zero-two", "", T("0x88a8", 10) "," T("0x8100", 20)) ",\n"
		FLOW("one-one", T("0x88a8", 10), T("0x88a8", 10)) ",\n"
		/* same outer tag as one-one, but two tags: another stack */
		FLOW("two-one", T("0x88a8", 10) "," T("0x8100", 20), T("0x8100", 10)) ",\n"
		/* same VID as one-one, another TPID */
		FLOW("tpid-differs", T("0x8100", 10), T("0x9100", 10)) ",\n"
		/* the order of the tags matters */
		FLOW("swapped", T("0x8100", 20) "," T("0x88a8", 10), ""));
	/* clang-format on */
	struct qgw_config *cfg = load_ok("stacks", doc);
	const struct qgw_flow_cfg *f;

	if (cfg == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(cfg->nb_flows, 5);
	f = cfg->flows;
	CU_ASSERT_STRING_EQUAL(f[0].name, "zero-two");
	CU_ASSERT_EQUAL(f[0].stack[0].nb_tags, 0);
	CU_ASSERT_EQUAL(f[0].stack[1].nb_tags, 2);
	check_tag("zero-two ccx 0", &f[0].stack[1].tag[0], 0x88a8, 10, -1);
	check_tag("zero-two ccx 1", &f[0].stack[1].tag[1], 0x8100, 20, -1);
	CU_ASSERT_EQUAL(f[1].stack[0].nb_tags, 1);
	CU_ASSERT_EQUAL(f[1].stack[1].nb_tags, 1);
	CU_ASSERT_EQUAL(f[2].stack[0].nb_tags, 2);
	CU_ASSERT_EQUAL(f[3].stack[0].nb_tags, 1);
	check_tag("tpid-differs twaren 0", &f[3].stack[0].tag[0], 0x8100, 10, -1);
	CU_ASSERT_EQUAL(f[4].stack[0].nb_tags, 2);
	check_tag("swapped twaren 0", &f[4].stack[0].tag[0], 0x8100, 20, -1);
	check_tag("swapped twaren 1", &f[4].stack[0].tag[1], 0x88a8, 10, -1);
	CU_ASSERT_EQUAL(f[4].stack[1].nb_tags, 0);
	qgw_config_free(cfg);
}

/* Small valid documents: each must load. */
static void
test_good_variants(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		const char *json;
		uint32_t nb_flows;
	} cases[] = {
		{"empty flows", DOC(""), 0},
		{"version 1", "{'version': 1, " PORTS ", 'flows': []}", 0},
		{"version last", "{" PORTS ", 'flows': [], 'version': 1}", 0},
		{"keys in any order", "{'flows': [], " PORTS "}", 0},
		{"untagged both sides", DOC(FLOW("bridge", "", "")), 1},
		{"flow keys in any order",
		 DOC("{'ccx': [], 'twaren': [" T("0x8100", 5) "], 'name': 'f'}"), 1},
		{"one catch-all per port",
		 DOC(FLOW("a", "", T("0x8100", 5)) "," FLOW("b", T("0x8100", 5), "")), 2},
		{"same stack on the two ports",
		 DOC(FLOW("a", T("0x8100", 5), T("0x8100", 5))), 1},
		{"one flow's stack is another's on the other port",
		 DOC(FLOW("a", T("0x8100", 5), T("0x8100", 6)) ","
		     FLOW("b", T("0x8100", 6), T("0x8100", 5))), 2},
		{"longest flow name", DOC(FLOW(S63, "", "")), 1},
		{"flow name characters", DOC(FLOW("0a_Z-9.x:y", "", "")), 1},
		{"8 distinct TPIDs on a port",
		 DOC(FLOW("a", T("0x8100", 1) "," T("0x88a8", 1), "") ","
		     FLOW("b", T("0x9100", 1) "," T("0x9200", 1), T("0x8100", 1)) ","
		     FLOW("c", T("0x9300", 1) "," T("0x0600", 1), T("0x8100", 2)) ","
		     FLOW("d", T("0x1234", 1) "," T("0xaaaa", 1), T("0x8100", 3)) ","
		     /* both TPIDs already counted */
		     FLOW("e", T("0x8100", 2) "," T("0xaaaa", 2), T("0x8100", 4))), 5},
		{"TPIDs are counted per port",
		 DOC(FLOW("a", T("0x8100", 1) "," T("0x88a8", 1),
			  T("0x1111", 1) "," T("0x2222", 1)) ","
		     FLOW("b", T("0x9100", 1) "," T("0x9200", 1),
			  T("0x3333", 1) "," T("0x4444", 1)) ","
		     FLOW("c", T("0x9300", 1) "," T("0x0600", 1),
			  T("0x5555", 1) "," T("0x6666", 1)) ","
		     FLOW("d", T("0x1234", 1) "," T("0xaaaa", 1),
			  T("0x7777", 1) "," T("0x9999", 1))), 4},
		{"whitespace and newlines", "\n\t{ 'ports' :\n{ 'a' : { 'device' : 'x' } ,"
					    " 'b' : { 'device' : 'y' } } ,\r\n 'flows' : [ ] }\n", 0},
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qgw_config *cfg = load_ok(cases[i].name, cases[i].json);

		if (cfg == NULL)
			continue;
		CHECK(cfg->nb_flows == cases[i].nb_flows, "%s: %u flows, expected %u",
		      cases[i].name, cfg->nb_flows, cases[i].nb_flows);
		qgw_config_free(cfg);
	}
}

/* ---- bad documents ----------------------------------------------------- */

static void
test_bad_syntax(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		{"empty document", "", {"line 1, column 0: '[' or '{' expected near end of file"}},
		{"root is a string", "'x'", {"line 1, column 3: '[' or '{' expected near '\"x\"'"}},
		{"root is a number", "42", {"line 1, column 2: '[' or '{' expected near '42'"}},
		{"trailing comma on line 3",
		 "{\n  'ports': {\n    'a': {'device': 'x',}\n  }\n}",
		 {"line 3, column 25: string or '}' expected near '}'"}},
		{"unterminated", "{'ports': {", {"line 1, column 11: string or '}' expected near end of file"}},
		{"text after the document", "{} x", {"line 1, column 4: end of file expected near 'x'"}},
		{"bad literal", "{'flows': [tru]}", {"line 1, column 14: invalid token near 'tru'"}},
		{"missing colon", "{'a' 1}", {"line 1, column 6: ':' expected near '1'"}},
		{"integer too big", "{'a': 99999999999999999999}",
		 {"line 1, column 26: too big integer near '99999999999999999999'"}},
		{"duplicate top-level key", "{'version': 1, 'version': 1}",
		 {"line 1, column 24: duplicate object key near '\"version\"'"}},
		{"duplicate port", "{'ports': {'a': {'device': 'x'},\n 'a': {'device': 'y'}}, 'flows': []}",
		 {"line 2, column 4: duplicate object key near '\"a\"'"}},
		{"duplicate key in a tag",
		 "{\n 'flows': [\n  {'name': 'f',\n   'a': [{'tpid': '0x8100', 'vid': 1, 'vid': 2}]}]}",
		 {"line 4, column 43: duplicate object key near '\"vid\"'"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

static void
test_bad_document(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		{"root is an array", "[]", {"/: expected an object with \"ports\" and \"flows\", got array"}},
		{"root is an array of objects", "[{" PORTS ", 'flows': []}]",
		 {"/: expected an object with \"ports\" and \"flows\", got array"}},
		{"empty object", "{}", {"/: missing key \"ports\"", "/: missing key \"flows\""}},
		{"missing ports", "{'flows': []}", {"/: missing key \"ports\""}},
		{"missing flows", "{" PORTS "}", {"/: missing key \"flows\""}},
		{"unknown top-level key", "{" PORTS ", 'colour': 'red', 'flows': []}",
		 {"/colour: unknown key (allowed: version, ports, flows)"}},
		{"unknown keys, all named", "{'Ports': 1, " PORTS ", 'flows': [], 'flow': []}",
		 {"/Ports: unknown key (allowed: version, ports, flows)",
		  "/flow: unknown key (allowed: version, ports, flows)"}},
		{"unknown key escaped in the pointer", "{'a/b~c': 1, " PORTS ", 'flows': []}",
		 {"/a~1b~0c: unknown key (allowed: version, ports, flows)"}},
		{"version 2", "{'version': 2, " PORTS ", 'flows': []}", {"/version: 2 out of range 1..1"}},
		{"version as a string", "{'version': '1', " PORTS ", 'flows': []}",
		 {"/version: expected an integer, got string"}},
		{"ports is an array", "{'ports': [], 'flows': []}",
		 {"/ports: expected an object of two ports, got array"}},
		{"ports is null", "{'ports': null, 'flows': []}",
		 {"/ports: expected an object of two ports, got null"}},
		{"flows is an object", "{" PORTS ", 'flows': {}}",
		 {"/flows: expected an array of flows, got object"}},
		{"flows is a string", "{" PORTS ", 'flows': 'none'}",
		 {"/flows: expected an array of flows, got string"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

static void
test_bad_ports(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		{"no ports", "{'ports': {}, 'flows': []}",
		 {"/ports: exactly 2 ports are required (one per segment), got 0"}},
		{"one port", "{'ports': {'a': {'device': 'x'}}, 'flows': []}",
		 {"/ports: exactly 2 ports are required (one per segment), got 1"}},
		{"three ports",
		 "{'ports': {'a': {'device': 'x'}, 'b': {'device': 'y'}, 'c': {'device': 'z'}},"
		 " 'flows': []}",
		 {"/ports: exactly 2 ports are required (one per segment), got 3"}},
		{"port name starts with a digit",
		 "{'ports': {'1a': {'device': 'x'}, 'b': {'device': 'y'}}, 'flows': []}",
		 {"/ports/1a: " PORT_NAME_MSG}},
		{"port name with a space",
		 "{'ports': {'a': {'device': 'x'}, 'b c': {'device': 'y'}}, 'flows': []}",
		 {"/ports/b c: " PORT_NAME_MSG}},
		{"port name with a slash",
		 "{'ports': {'a': {'device': 'x'}, 'b/c': {'device': 'y'}}, 'flows': []}",
		 {"/ports/b~1c: " PORT_NAME_MSG}},
		{"empty port name", "{'ports': {'a': {'device': 'x'}, '': {'device': 'y'}}, 'flows': []}",
		 {"/ports/: " PORT_NAME_MSG}},
		{"port named name",
		 "{'ports': {'name': {'device': 'x'}, 'b': {'device': 'y'}}, 'flows': []}",
		 {"/ports/name: " PORT_NAME_MSG}},
		{"port named mtu",
		 "{'ports': {'mtu': {'device': 'x'}, 'b': {'device': 'y'}}, 'flows': []}",
		 {"/ports/mtu: " PORT_NAME_MSG}},
		{"port named icmp_burst",
		 "{'ports': {'a': {'device': 'x'}, 'icmp_burst': {'device': 'y'}}, 'flows': []}",
		 {"/ports/icmp_burst: " PORT_NAME_MSG}},
		{"port name of 32 characters",
		 "{'ports': {'" S31 "x': {'device': 'x'}, 'b': {'device': 'y'}}, 'flows': []}",
		 {"/ports/" S31 "x: " PORT_NAME_MSG}},
		{"unknown port key", PORT_DOC("{'device': 'net_pcap1', 'colour': 'red'}"),
		 {"/ports/ccx/colour: unknown key (allowed: device, max_frame)"}},
		{"mtu is not a port key", PORT_DOC("{'device': 'net_pcap1', 'mtu': 1500}"),
		 {"/ports/ccx/mtu: unknown key (allowed: device, max_frame)"}},
		{"missing device", PORT_DOC("{'max_frame': 1522}"), {"/ports/ccx: missing key \"device\""}},
		{"device is a number", PORT_DOC("{'device': 1}"),
		 {"/ports/ccx/device: expected a device name, got integer"}},
		{"empty device", PORT_DOC("{'device': ''}"),
		 {"/ports/ccx/device: device name must have 1 to 63 characters"}},
		{"device of 64 characters", PORT_DOC("{'device': '" S63 "x'}"),
		 {"/ports/ccx/device: device name must have 1 to 63 characters"}},
		{"same device twice", PORT_DOC("{'device': 'net_pcap0'}"),
		 {"/ports/ccx/device: \"net_pcap0\" is already used by port twaren"}},
		{"max_frame 63", PORT_DOC("{'device': 'd', 'max_frame': 63}"),
		 {"/ports/ccx/max_frame: 63 out of range 64..16384"}},
		{"max_frame 16385", PORT_DOC("{'device': 'd', 'max_frame': 16385}"),
		 {"/ports/ccx/max_frame: 16385 out of range 64..16384"}},
		{"max_frame 0", PORT_DOC("{'device': 'd', 'max_frame': 0}"),
		 {"/ports/ccx/max_frame: 0 out of range 64..16384"}},
		{"max_frame -1522", PORT_DOC("{'device': 'd', 'max_frame': -1522}"),
		 {"/ports/ccx/max_frame: -1522 out of range 64..16384"}},
		{"max_frame as a string", PORT_DOC("{'device': 'd', 'max_frame': '1522'}"),
		 {"/ports/ccx/max_frame: expected an integer, got string"}},
		{"max_frame with a fraction", PORT_DOC("{'device': 'd', 'max_frame': 1522.0}"),
		 {"/ports/ccx/max_frame: expected an integer, got number with a fraction"}},
		{"port is a string", PORT_DOC("'net_pcap1'"),
		 {"/ports/ccx: expected a port object like {\"device\": \"0000:3b:00.0\"}, got string"}},
		/*
		 * A port that is not an object still has a name: the flows that use
		 * it must not be reported as using an unknown key or missing "".
		 */
		{"port is not an object, flows use it",
		 "{'ports': {'twaren': 5, 'ccx': {'device': 'net_pcap1'}},"
		 " 'flows': [" FLOW("f", "", "") "]}",
		 {"/ports/twaren: expected a port object like {\"device\": \"0000:3b:00.0\"}, "
		  "got integer"}},
		{"every port error at once",
		 "{'ports': {'name': {'device': 'x', 'max_frame': 1, 'speed': 10},"
		 " 'ccx': {'device': 'x', 'max_frame': 'big'}}, 'flows': []}",
		 {"/ports/name: " PORT_NAME_MSG,
		  "/ports/name/speed: unknown key (allowed: device, max_frame)",
		  "/ports/name/max_frame: 1 out of range 64..16384",
		  "/ports/ccx/max_frame: expected an integer, got string",
		  "/ports/ccx/device: \"x\" is already used by port name"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

static void
test_bad_tags(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		/* vid */
		{"vid 0", TAG_DOC("{'tpid': '0x8100', 'vid': 0}"),
		 {"/flows/0/twaren/0/vid: 0 out of range 1..4094"}},
		{"vid 4095", TAG_DOC("{'tpid': '0x8100', 'vid': 4095}"),
		 {"/flows/0/twaren/0/vid: 4095 out of range 1..4094"}},
		{"vid 4096", TAG_DOC("{'tpid': '0x8100', 'vid': 4096}"),
		 {"/flows/0/twaren/0/vid: 4096 out of range 1..4094"}},
		{"vid -1", TAG_DOC("{'tpid': '0x8100', 'vid': -1}"),
		 {"/flows/0/twaren/0/vid: -1 out of range 1..4094"}},
		{"vid as a string", TAG_DOC("{'tpid': '0x8100', 'vid': '100'}"),
		 {"/flows/0/twaren/0/vid: expected an integer, got string"}},
		{"vid with a fraction", TAG_DOC("{'tpid': '0x8100', 'vid': 100.0}"),
		 {"/flows/0/twaren/0/vid: expected an integer, got number with a fraction"}},
		{"vid null", TAG_DOC("{'tpid': '0x8100', 'vid': null}"),
		 {"/flows/0/twaren/0/vid: expected an integer, got null"}},
		/* pcp */
		{"pcp 8", TAG_DOC("{'tpid': '0x8100', 'vid': 1, 'pcp': 8}"),
		 {"/flows/0/twaren/0/pcp: 8 out of range 0..7"}},
		{"pcp -1", TAG_DOC("{'tpid': '0x8100', 'vid': 1, 'pcp': -1}"),
		 {"/flows/0/twaren/0/pcp: -1 out of range 0..7"}},
		{"pcp as a boolean", TAG_DOC("{'tpid': '0x8100', 'vid': 1, 'pcp': true}"),
		 {"/flows/0/twaren/0/pcp: expected an integer, got boolean"}},
		/* tpid */
		{"tpid not hex", TAG_DOC("{'tpid': 'zz', 'vid': 1}"), {NOT_HEX("zz")}},
		{"tpid without 0x", TAG_DOC("{'tpid': '88a8', 'vid': 1}"), {NOT_HEX("88a8")}},
		{"tpid 0x alone", TAG_DOC("{'tpid': '0x', 'vid': 1}"), {NOT_HEX("0x")}},
		{"tpid with non-hex digits", TAG_DOC("{'tpid': '0x88g8', 'vid': 1}"), {NOT_HEX("0x88g8")}},
		{"tpid with a trailing space", TAG_DOC("{'tpid': '0x8100 ', 'vid': 1}"),
		 {NOT_HEX("0x8100 ")}},
		{"tpid with a leading space", TAG_DOC("{'tpid': ' 0x8100', 'vid': 1}"),
		 {NOT_HEX(" 0x8100")}},
		{"tpid with 5 digits", TAG_DOC("{'tpid': '0x10000', 'vid': 1}"), {NOT_HEX("0x10000")}},
		{"empty tpid", TAG_DOC("{'tpid': '', 'vid': 1}"), {NOT_HEX("")}},
		/* strtoll() must not decide what a hex string is */
		{"tpid with a space after 0x", TAG_DOC("{'tpid': '0x 8a8', 'vid': 1}"),
		 {NOT_HEX("0x 8a8")}},
		{"tpid with a plus sign", TAG_DOC("{'tpid': '0x+8a8', 'vid': 1}"), {NOT_HEX("0x+8a8")}},
		{"tpid with a minus sign", TAG_DOC("{'tpid': '0x-7ff', 'vid': 1}"), {NOT_HEX("0x-7ff")}},
		{"tpid with 0x twice", TAG_DOC("{'tpid': '0x0x88', 'vid': 1}"), {NOT_HEX("0x0x88")}},
		{"tpid integer above 0xffff", TAG_DOC("{'tpid': 65536, 'vid': 1}"),
		 {NOT_ETHERTYPE("0x10000")}},
		{"tpid 0x05ff", TAG_DOC("{'tpid': '0x05ff', 'vid': 1}"), {NOT_ETHERTYPE("0x05ff")}},
		{"tpid 0x5ff", TAG_DOC("{'tpid': '0x5ff', 'vid': 1}"), {NOT_ETHERTYPE("0x05ff")}},
		{"tpid integer 1535", TAG_DOC("{'tpid': 1535, 'vid': 1}"), {NOT_ETHERTYPE("0x05ff")}},
		{"tpid 0", TAG_DOC("{'tpid': '0x0', 'vid': 1}"), {NOT_ETHERTYPE("0x0000")}},
		{"tpid integer 0", TAG_DOC("{'tpid': 0, 'vid': 1}"), {NOT_ETHERTYPE("0x0000")}},
		{"tpid integer -1", TAG_DOC("{'tpid': -1, 'vid': 1}"), {NOT_ETHERTYPE("-1")}},
		{"tpid IPv4", TAG_DOC("{'tpid': '0x0800', 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x0800 is the IPv4 EtherType, not a tag protocol identifier"}},
		{"tpid IPv4 as an integer", TAG_DOC("{'tpid': 2048, 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x0800 is the IPv4 EtherType, not a tag protocol identifier"}},
		{"tpid IPv6 in capitals", TAG_DOC("{'tpid': '0X86DD', 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x86dd is the IPv6 EtherType, not a tag protocol identifier"}},
		{"tpid ARP", TAG_DOC("{'tpid': '0x806', 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x0806 is the ARP EtherType, not a tag protocol identifier"}},
		{"tpid MPLS", TAG_DOC("{'tpid': '0x8847', 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x8847 is the MPLS EtherType, not a tag protocol identifier"}},
		{"tpid LLDP", TAG_DOC("{'tpid': '0x88cc', 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: 0x88cc is the LLDP EtherType, not a tag protocol identifier"}},
		{"tpid as a boolean", TAG_DOC("{'tpid': true, 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: expected a hex string or an integer, got boolean"}},
		{"tpid with a fraction", TAG_DOC("{'tpid': 33024.0, 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: expected a hex string or an integer, got number with a "
		  "fraction"}},
		{"tpid as an array", TAG_DOC("{'tpid': [33024], 'vid': 1}"),
		 {"/flows/0/twaren/0/tpid: expected a hex string or an integer, got array"}},
		/* the tag object */
		{"missing tpid", TAG_DOC("{'vid': 1}"), {"/flows/0/twaren/0: missing key \"tpid\""}},
		{"missing vid", TAG_DOC("{'tpid': '0x8100', 'pcp': 1}"),
		 {"/flows/0/twaren/0: missing key \"vid\""}},
		{"empty tag", TAG_DOC("{}"),
		 {"/flows/0/twaren/0: missing key \"tpid\"", "/flows/0/twaren/0: missing key \"vid\""}},
		{"unknown tag key", TAG_DOC("{'tpid': '0x8100', 'dei': 1, 'vid': 1}"),
		 {"/flows/0/twaren/0/dei: unknown key (allowed: tpid, vid, pcp)"}},
		{"unknown tag key and bad values", TAG_DOC("{'vlan': 1, 'tpid': 'x', 'vid': 0}"),
		 {"/flows/0/twaren/0/vlan: unknown key (allowed: tpid, vid, pcp)", NOT_HEX("x"),
		  "/flows/0/twaren/0/vid: 0 out of range 1..4094"}},
		{"tag is an integer", TAG_DOC("100"),
		 {"/flows/0/twaren/0: expected a tag object like {\"tpid\": \"0x88a8\", \"vid\": 100}, "
		  "got integer"}},
		{"tag is an array", TAG_DOC("[{'tpid': '0x8100', 'vid': 1}]"),
		 {"/flows/0/twaren/0: expected a tag object like {\"tpid\": \"0x88a8\", \"vid\": 100}, "
		  "got array"}},
		{"second tag is a string", TAG_DOC("{'tpid': '0x8100', 'vid': 1}, '0x8100/2'"),
		 {"/flows/0/twaren/1: expected a tag object like {\"tpid\": \"0x88a8\", \"vid\": 100}, "
		  "got string"}},
		/* the stack */
		{"three tags",
		 DOC(FLOW("f", "", "{'tpid': '0x88a8', 'vid': 1}, {'tpid': '0x8100', 'vid': 2},"
				   " {'tpid': '0x8100', 'vid': 3}")),
		 {"/flows/0/ccx: at most 2 tags, got 3"}},
		{"three tags, the third bad",
		 DOC(FLOW("f", "", "{'tpid': '0x88a8', 'vid': 1}, {'tpid': '0x8100', 'vid': 2},"
				   " {'tpid': '0x8100', 'vid': 4096}")),
		 {"/flows/0/ccx: at most 2 tags, got 3", "/flows/0/ccx/2/vid: 4096 out of range 1..4094"}},
		{"stack is an object",
		 DOC("{'name': 'f', 'twaren': {'tpid': '0x8100', 'vid': 1}, 'ccx': []}"),
		 {"/flows/0/twaren: expected an array of 0 to 2 tags, got object"}},
		{"stack is null", DOC("{'name': 'f', 'twaren': [], 'ccx': null}"),
		 {"/flows/0/ccx: expected an array of 0 to 2 tags, got null"}},
		{"stack is a string", DOC("{'name': 'f', 'twaren': 'untagged', 'ccx': []}"),
		 {"/flows/0/twaren: expected an array of 0 to 2 tags, got string"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

static void
test_bad_flows(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		{"flow is an integer", DOC("1"), {"/flows/0: expected a flow object, got integer"}},
		{"flow is an array", DOC(FLOW("a", "", "") ", []"),
		 {"/flows/1: expected a flow object, got array"}},
		{"missing flow name", DOC("{'twaren': [], 'ccx': []}"), {"/flows/0: missing key \"name\""}},
		{"flow name is a number", DOC("{'name': 7, 'twaren': [], 'ccx': []}"),
		 {"/flows/0/name: expected a string, got integer"}},
		{"flow name with a space", DOC(FLOW("a b", "", "")),
		 {"/flows/0/name: \"a b\": " FLOW_NAME_MSG}},
		{"flow name with a slash", DOC(FLOW("a/b", "", "")),
		 {"/flows/0/name: \"a/b\": " FLOW_NAME_MSG}},
		{"flow name with a non-ASCII letter", DOC(FLOW("caf\xc3\xa9", "", "")),
		 {"/flows/0/name: \"caf\xc3\xa9\": " FLOW_NAME_MSG}},
		{"empty flow name", DOC(FLOW("", "", "")), {"/flows/0/name: \"\": " FLOW_NAME_MSG}},
		{"flow name of 64 characters", DOC(FLOW(S63 "x", "", "")),
		 {"/flows/0/name: \"" S63 "x\": " FLOW_NAME_MSG}},
		{"duplicate flow name",
		 DOC(FLOW("f", T("0x8100", 1), T("0x8100", 1)) ", " FLOW("f", T("0x8100", 2), T("0x8100", 2))),
		 {"/flows/1/name: \"f\" is already the name of /flows/0"}},
		{"flow name used three times",
		 DOC(FLOW("f", T("0x8100", 1), "") ", " FLOW("g", T("0x8100", 2), T("0x8100", 2)) ", "
		     FLOW("f", T("0x8100", 3), T("0x8100", 3)) ", " FLOW("f", T("0x8100", 4), T("0x8100", 4))),
		 {"/flows/2/name: \"f\" is already the name of /flows/0",
		  "/flows/3/name: \"f\" is already the name of /flows/0"}},
		{"names differ only in case: distinct",
		 DOC(FLOW("f", T("0x8100", 1), "") ", " FLOW("F", T("0x8100", 1), T("0x8100", 1))),
		 {"/flows/1/twaren: stack 0x8100/1 on port twaren is already claimed by flow \"f\" "
		  "(/flows/0)"}},
		{"missing port key", DOC("{'name': 'f', 'twaren': []}"), {MISSING_STACK("0", "ccx")}},
		{"missing both port keys", DOC("{'name': 'f'}"),
		 {MISSING_STACK("0", "twaren"), MISSING_STACK("0", "ccx")}},
		{"unknown flow key", DOC("{'name': 'f', 'twaren': [], 'colour': 1, 'ccx': []}"),
		 {"/flows/0/colour: unknown key (allowed: name, mtu, oversize, mss_clamp, customer_tags, icmp_rate, icmp_burst, twaren, ccx)"}},
		{"port key misspelt", DOC("{'name': 'f', 'twaren': [], 'CCX': []}"),
		 {"/flows/0/CCX: unknown key (allowed: name, mtu, oversize, mss_clamp, customer_tags, icmp_rate, icmp_burst, twaren, ccx)", MISSING_STACK("0", "ccx")}},
		/* stack conflicts */
		{"same one-tag stack on one port",
		 DOC(FLOW("a", T("0x88a8", 100), T("0x8100", 1)) ", "
		     FLOW("b", T("0x88a8", 100), T("0x8100", 2))),
		 {"/flows/1/twaren: stack 0x88a8/100 on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)"}},
		{"same two-tag stack on one port",
		 DOC(FLOW("a", "", T("0x88a8", 200) "," T("0x8100", 30)) ", "
		     FLOW("b", T("0x8100", 2), T("0x88a8", 200) "," T("0x8100", 30))),
		 {"/flows/1/ccx: stack 0x88a8/200.0x8100/30 on port ccx is already claimed by flow "
		  "\"a\" (/flows/0)"}},
		{"two untagged catch-alls on one port",
		 DOC(FLOW("a", T("0x8100", 1), "") ", " FLOW("b", T("0x8100", 2), "")),
		 {"/flows/1/ccx: stack untagged on port ccx is already claimed by flow \"a\" "
		  "(/flows/0)"}},
		{"same stacks on both ports",
		 DOC(FLOW("a", "", T("0x8100", 5)) ", " FLOW("b", "", T("0x8100", 5))),
		 {"/flows/1/twaren: stack untagged on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)",
		  "/flows/1/ccx: stack 0x8100/5 on port ccx is already claimed by flow \"a\" "
		  "(/flows/0)"}},
		{"PCP does not make a stack distinct",
		 DOC(FLOW("a", "{'tpid': '0x88a8', 'vid': 100, 'pcp': 1}", T("0x8100", 1)) ", "
		     FLOW("b", "{'tpid': '0x88a8', 'vid': 100, 'pcp': 2}", T("0x8100", 2))),
		 {"/flows/1/twaren: stack 0x88a8/100 on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)"}},
		{"PCP set on one side only does not make a stack distinct",
		 DOC(FLOW("a", T("0x88a8", 100) "," T("0x8100", 7), T("0x8100", 1)) ", "
		     FLOW("b", T("0x88a8", 100) ",{'tpid': '0x8100', 'vid': 7, 'pcp': 0}",
			  T("0x8100", 2))),
		 {"/flows/1/twaren: stack 0x88a8/100.0x8100/7 on port twaren is already claimed by "
		  "flow \"a\" (/flows/0)"}},
		{"integer and hex TPID are the same stack",
		 DOC(FLOW("a", T("0x88a8", 100), "") ", "
		     FLOW("b", "{'tpid': 34984, 'vid': 100}", T("0x8100", 2))),
		 {"/flows/1/twaren: stack 0x88a8/100 on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)"}},
		{"the first claim is named",
		 DOC(FLOW("a", T("0x8100", 1), "") ", " FLOW("b", T("0x8100", 1), T("0x8100", 1)) ", "
		     FLOW("c", T("0x8100", 1), T("0x8100", 1))),
		 {"/flows/1/twaren: stack 0x8100/1 on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)",
		  "/flows/2/twaren: stack 0x8100/1 on port twaren is already claimed by flow \"a\" "
		  "(/flows/0)",
		  "/flows/2/ccx: stack 0x8100/1 on port ccx is already claimed by flow \"b\" "
		  "(/flows/1)"}},
		/* TPIDs per port */
		{"9 distinct TPIDs on a port",
		 DOC(FLOW("a", T("0x8100", 1) "," T("0x88a8", 1), "") ","
		     FLOW("b", T("0x9100", 1) "," T("0x9200", 1), T("0x8100", 1)) ","
		     FLOW("c", T("0x9300", 1) "," T("0x0600", 1), T("0x8100", 2)) ","
		     FLOW("d", T("0x1234", 1) "," T("0xaaaa", 1), T("0x8100", 3)) ","
		     FLOW("e", T("0xbbbb", 1), T("0x8100", 4))),
		 {"/ports/twaren: flows use more than 8 distinct TPIDs on this port"}},
		{"9th TPID as an inner tag, on both ports",
		 DOC(FLOW("a", T("0x8100", 1), T("0x8100", 1)) ","
		     FLOW("b", T("0x88a8", 1), T("0x88a8", 1)) ","
		     FLOW("c", T("0x9100", 1), T("0x9100", 1)) ","
		     FLOW("d", T("0x9200", 1), T("0x9200", 1)) ","
		     FLOW("e", T("0x9300", 1), T("0x9300", 1)) ","
		     FLOW("f", T("0x0600", 1), T("0x0600", 1)) ","
		     FLOW("g", T("0x1234", 1), T("0x1234", 1)) ","
		     FLOW("h", T("0x8100", 2) "," T("0xaaaa", 1), T("0x8100", 2) "," T("0xaaaa", 1)) ","
		     FLOW("i", T("0x8100", 3) "," T("0xbbbb", 1), T("0x8100", 3) "," T("0xbbbb", 1))),
		 {"/ports/twaren: flows use more than 8 distinct TPIDs on this port",
		  "/ports/ccx: flows use more than 8 distinct TPIDs on this port"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

/* One document breaking rules at every level: every error, in document order. */
static void
test_bad_many(void)
{
	/* clang-format off */
	static const struct bad_case cases[] = {
		{"many errors",
		 "{'version': 2, 'colour': 'red',\n"
		 " 'ports': {'twaren': {'device': 'net_pcap0', 'max_frame': 15, 'speed': 10},\n"
		 "           'ccx': {'device': 'net_pcap0'}},\n"
		 " 'flows': [\n"
		 "  {'name': 'a', 'twaren': [" T("0x88a8", 100) "], 'ccx': [" T("0x0800", 1) "]},\n"
		 "  {'name': 'a', 'twaren': [{'tpid': '0x88a8', 'vid': 100, 'pcp': 3}],"
		 " 'ccx': [" T("0x8100", 4096) "]},\n"
		 "  {'name': 'b c', 'twaren': [" T("0x8100", 1) "," T("0x8100", 2) "," T("0x8100", 3)
		 "], 'ccx': [], 'extra': true},\n"
		 "  {'twaren': [{'vid': 9, 'pcp': 8}]},\n"
		 "  {'name': 'd', 'twaren': [], 'ccx': []},\n"
		 "  42\n"
		 " ]}",
		 {
			 "/colour: unknown key (allowed: version, ports, flows)",
			 "/version: 2 out of range 1..1",
			 "/ports/twaren/speed: unknown key (allowed: device, max_frame)",
			 "/ports/twaren/max_frame: 15 out of range 64..16384",
			 "/ports/ccx/device: \"net_pcap0\" is already used by port twaren",
			 "/flows/0/ccx/0/tpid: 0x0800 is the IPv4 EtherType, not a tag protocol "
			 "identifier",
			 "/flows/1/name: \"a\" is already the name of /flows/0",
			 "/flows/1/twaren: stack 0x88a8/100 on port twaren is already claimed by flow "
			 "\"a\" (/flows/0)",
			 "/flows/1/ccx/0/vid: 4096 out of range 1..4094",
			 "/flows/2/extra: unknown key (allowed: name, mtu, oversize, mss_clamp, customer_tags, icmp_rate, icmp_burst, twaren, ccx)",
			 "/flows/2/name: \"b c\": " FLOW_NAME_MSG,
			 "/flows/2/twaren: at most 2 tags, got 3",
			 "/flows/3: missing key \"name\"",
			 "/flows/3/twaren/0: missing key \"tpid\"",
			 "/flows/3/twaren/0/pcp: 8 out of range 0..7",
			 MISSING_STACK("3", "ccx"),
			 "/flows/4/ccx: stack untagged on port ccx is already claimed by flow \"b c\" "
			 "(/flows/2)",
			 "/flows/5: expected a flow object, got integer",
		 }},
		{"the issue's example with two errors",
		 "{'ports': {'twaren': {'device': '0000:3b:00.0', 'max_frame': 1526},"
		 " 'ccx': {'device': 'net_pcap1', 'max_frame': 1522}},\n"
		 " 'flows': [\n"
		 "  {'name': 'twcc-aws-tokyo', 'twaren': [{'tpid': '0x88a8', 'vid': 100}],"
		 " 'ccx': [{'tpid': '0x8100', 'vid': 3001}]},\n"
		 "  {'name': 'lab-2to1', 'twaren': [{'tpid': '0x88a8', 'vid': 100}, {'tpid': '0x8100',"
		 " 'vid': 30}], 'ccx': [{'tpid': '0x9100', 'vid': 4096, 'pcp': 5}],"
		 " 'twaren2': []}]}",
		 {"/flows/1/twaren2: unknown key (allowed: name, mtu, oversize, mss_clamp, customer_tags, icmp_rate, icmp_burst, twaren, ccx)",
		  "/flows/1/ccx/0/vid: 4096 out of range 1..4094"}},
	};
	/* clang-format on */

	RUN_BAD(cases);
}

/* More flows than the table holds; exactly the maximum is fine. */
static void
test_flow_limit(void)
{
	static const char flow_fmt[] =
		"%s{'name': 'f%u', 'twaren': [{'tpid': '0x88a8', 'vid': %u},"
		" {'tpid': '0x8100', 'vid': %u}], 'ccx': [{'tpid': '0x88a8', 'vid': %u},"
		" {'tpid': '0x8100', 'vid': %u}]}";
	struct bad_case c = {"8193 flows", NULL, {"/flows: at most 8192 flows, got 8193"}};
	size_t sz = (size_t)(QGW_MAX_FLOWS + 1) * 256 + 256, n;
	char *doc = malloc(sz);
	struct qgw_config *cfg;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	/* QGW_MAX_FLOWS distinct two-tag stacks, one per flow, on each port */
	n = snprintf(doc, sz, "{" PORTS ", 'flows': [");
	for (unsigned int i = 0; i < QGW_MAX_FLOWS; i++)
		n += snprintf(doc + n, sz - n, flow_fmt, i ? "," : "", i, i / 4094 + 1,
			      i % 4094 + 1, i / 4094 + 1, i % 4094 + 1);
	snprintf(doc + n, sz - n, "]}");
	cfg = load_ok("8192 flows", doc);
	if (cfg != NULL) {
		CU_ASSERT_EQUAL(cfg->nb_flows, QGW_MAX_FLOWS);
		CU_ASSERT_STRING_EQUAL(cfg->flows[QGW_MAX_FLOWS - 1].name, "f8191");
		check_tag("last flow ccx 1", &cfg->flows[QGW_MAX_FLOWS - 1].stack[1].tag[1], 0x8100,
			  8191 % 4094 + 1, -1);
	}
	qgw_config_free(cfg);

	snprintf(doc + n, sz - n, ",{}]}");
	c.json = doc;
	run_bad(&c, 1);
	free(doc);
}

/* ---- API details ------------------------------------------------------- */

static void
test_errors_list(void)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg;

	/* Without an error list, a bad document is still refused. */
	errno = 0;
	cfg = load(TAG_DOC(T("0x8100", 0)), NULL);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, EINVAL);
	qgw_config_free(cfg);
	errno = 0;
	cfg = load("{", NULL);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, EINVAL);
	qgw_config_free(cfg);
	cfg = load(issue_example, NULL);
	CU_ASSERT_PTR_NOT_NULL(cfg);
	qgw_config_free(cfg);

	/* Errors are appended to what the list already holds. */
	qgw_errors_add(&errs, "earlier %d", 1);
	cfg = load("{'ports': {}, 'flows': 1}", &errs);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL_FATAL(errs.nb, 3);
	CU_ASSERT_STRING_EQUAL(errs.msg[0], "earlier 1");
	CU_ASSERT_STRING_EQUAL(errs.msg[1],
			       "/ports: exactly 2 ports are required (one per segment), got 0");
	CU_ASSERT_STRING_EQUAL(errs.msg[2], "/flows: expected an array of flows, got integer");

	/* A valid document adds nothing. */
	cfg = load(issue_example, &errs);
	CU_ASSERT_PTR_NOT_NULL(cfg);
	CU_ASSERT_EQUAL(errs.nb, 3);
	qgw_config_free(cfg);

	/* The list grows past its first allocation. */
	for (int i = 0; i < 100; i++)
		qgw_errors_add(&errs, "e%d", i);
	CU_ASSERT_EQUAL_FATAL(errs.nb, 103);
	CU_ASSERT_STRING_EQUAL(errs.msg[102], "e99");

	qgw_errors_clear(&errs);
	CU_ASSERT_EQUAL(errs.nb, 0);
	CU_ASSERT_PTR_NULL(errs.msg);
	qgw_errors_clear(&errs);
	qgw_errors_clear(NULL);
	qgw_errors_add(NULL, "ignored");
	qgw_config_free(NULL);
}

/* qgw_config_load_file() reads the same documents and names a missing file. */
static void
test_load_file(void)
{
	char path[] = "/tmp/qgw_test_config_XXXXXX";
	struct qgw_errors errs = {0};
	struct qgw_config *cfg;
	int fd = mkstemp(path);
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"ports\": {\"a\": {\"device\": \"x\"}, \"b\": {\"device\": \"y\"}},\n"
	      " \"flows\": [{\"name\": \"f\", \"a\": [],\n"
	      "  \"b\": [{\"tpid\": \"0x8100\", \"vid\": 0}]}]}\n",
	      f);
	fclose(f);
	cfg = qgw_config_load_file(path, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL_FATAL(errs.nb, 1);
	CU_ASSERT_STRING_EQUAL(errs.msg[0], "/flows/0/b/0/vid: 0 out of range 1..4094");
	qgw_errors_clear(&errs);
	unlink(path);

	errno = 0;
	cfg = qgw_config_load_file(path, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL_FATAL(errs.nb, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.msg[0], path));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.msg[0], "No such file or directory"));
	qgw_errors_clear(&errs);
}

static void
test_stack_format(void)
{
	/* clang-format off */
	static const struct {
		struct qgw_stack_cfg s;
		size_t len;
		const char *text;
	} cases[] = {
		{{.nb_tags = 0}, 64, "untagged"},
		{{.nb_tags = 1, .tag = {{0x88a8, 100, -1}}}, 64, "0x88a8/100"},
		{{.nb_tags = 1, .tag = {{0x0600, 1, -1}}}, 64, "0x0600/1"},
		{{.nb_tags = 1, .tag = {{0x9100, 3002, 5}}}, 64, "0x9100/3002/pcp5"},
		{{.nb_tags = 1, .tag = {{0x8100, 4094, 0}}}, 64, "0x8100/4094/pcp0"},
		{{.nb_tags = 2, .tag = {{0x88a8, 200, -1}, {0x8100, 30, -1}}}, 64,
		 "0x88a8/200.0x8100/30"},
		{{.nb_tags = 2, .tag = {{0x88a8, 200, 7}, {0x8100, 30, -1}}}, 64,
		 "0x88a8/200/pcp7.0x8100/30"},
		{{.nb_tags = 2, .tag = {{0x88a8, 200, -1}, {0x8100, 30, 3}}}, 64,
		 "0x88a8/200.0x8100/30/pcp3"},
		/* truncated, always terminated */
		{{.nb_tags = 0}, 4, "unt"},
		{{.nb_tags = 1, .tag = {{0x88a8, 100, -1}}}, 8, "0x88a8/"},
		{{.nb_tags = 1, .tag = {{0x88a8, 100, -1}}}, 11, "0x88a8/100"},
		{{.nb_tags = 1, .tag = {{0x88a8, 100, 5}}}, 13, "0x88a8/100/p"},
		{{.nb_tags = 2, .tag = {{0x88a8, 200, -1}, {0x8100, 30, -1}}}, 12, "0x88a8/200."},
		{{.nb_tags = 2, .tag = {{0x88a8, 200, -1}, {0x8100, 30, -1}}}, 1, ""},
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[80];
		char *ret;

		memset(buf, 'Z', sizeof(buf));
		ret = qgw_stack_format(&cases[i].s, buf, cases[i].len);
		CHECK(ret == buf, "case %zu: returns buf", i);
		CHECK(strcmp(buf, cases[i].text) == 0, "case %zu: <%s>, expected <%s>", i, buf,
		      cases[i].text);
		CHECK(buf[cases[i].len] == 'Z', "case %zu: wrote past len %zu", i, cases[i].len);
	}

	/* len 0 writes nothing */
	{
		char buf[4] = "abc";
		struct qgw_stack_cfg s = {.nb_tags = 0};

		CU_ASSERT_PTR_EQUAL(qgw_stack_format(&s, buf, 0), buf);
		CU_ASSERT_STRING_EQUAL(buf, "abc");
	}
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"issue example", test_issue_example},
		{"ports", test_ports},
		{"tag values", test_tag_values},
		{"stacks", test_stacks},
		{"good variants", test_good_variants},
		{"bad syntax", test_bad_syntax},
		{"bad document", test_bad_document},
		{"bad ports", test_bad_ports},
		{"bad tags", test_bad_tags},
		{"bad flows", test_bad_flows},
		{"many errors at once", test_bad_many},
		{"flow limit", test_flow_limit},
		{"error list", test_errors_list},
		{"load file", test_load_file},
		{"stack format", test_stack_format},
	};
	CU_pSuite suite;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("config", NULL, NULL);
	if (suite == NULL)
		goto error;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto error;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;

error:
	CU_cleanup_registry();
	return CU_get_error();
}
