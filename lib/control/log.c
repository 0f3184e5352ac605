/*
 * The gateway's log types (see qgw_log.h), level names as EAL spells them,
 * and setting levels by pattern at start-up and from the control socket.
 */
#include "qgw_log.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

RTE_LOG_REGISTER(qgw_logtype, qinqgw, INFO);
RTE_LOG_REGISTER(qgw_logtype_port, qinqgw.port, INFO);
RTE_LOG_REGISTER(qgw_logtype_ctl, qinqgw.ctl, INFO);
RTE_LOG_REGISTER(qgw_logtype_config, qinqgw.config, INFO);
RTE_LOG_REGISTER(qgw_logtype_stats, qinqgw.stats, INFO);
RTE_LOG_REGISTER(qgw_logtype_worker, qinqgw.worker, INFO);

#define LEVEL_MIN ((int)RTE_LOG_EMERG)
#define LEVEL_MAX ((int)RTE_LOG_DEBUG)

/* EAL's names (eal_parse_log_priority), index = level. */
static const char *const level_names[] = {
	[RTE_LOG_EMERG] = "emergency", [RTE_LOG_ALERT] = "alert",     [RTE_LOG_CRIT] = "critical",
	[RTE_LOG_ERR] = "error",       [RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info",       [RTE_LOG_DEBUG] = "debug",
};

int
qgw_log_parse_level(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	char *end;
	unsigned long n;

	if (len == 0)
		return -EINVAL;
	/* Like EAL: the first name the word begins, so "warn" is warning. */
	for (int i = LEVEL_MIN; i <= LEVEL_MAX; i++)
		if (strncasecmp(level_names[i], s, len) == 0)
			return i;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < RTE_LOG_EMERG || n > RTE_LOG_DEBUG)
		return -EINVAL;
	return (int)n;
}

const char *
qgw_log_level_name(int level)
{
	return level >= LEVEL_MIN && level <= LEVEL_MAX ? level_names[level] : "?";
}

const char *
qgw_log_pattern(const char *pattern)
{
	return strcmp(pattern, "qinqgw") == 0 ? QGW_LOG_ALL : pattern;
}

int
qgw_log_foreach(const char *pattern, void (*fn)(const char *name, int level, void *arg), void *arg)
{
	char *list = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	int n = 0;

	if (f == NULL)
		return -ENOMEM;
	rte_log_list_types(f, "");
	if (fclose(f) != 0) {
		free(list);
		return -ENOMEM;
	}
	for (line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int type, level;

		if (pattern != NULL && fnmatch(pattern, line, 0) != 0)
			continue;
		type = rte_log_register(line); /* an existing name: its id */
		level = type >= 0 ? rte_log_get_level((uint32_t)type) : -1;
		if (level < 0)
			continue;
		if (fn != NULL)
			fn(line, level, arg);
		n++;
	}
	free(list);
	return n;
}

static void
set_one(const char *name, int level, void *arg)
{
	int type = rte_log_register(name);

	(void)level;
	if (type >= 0)
		rte_log_set_level((uint32_t)type, (uint32_t)(uintptr_t)arg);
}

int
qgw_log_set(const char *pattern, int level)
{
	if (level < LEVEL_MIN || level > LEVEL_MAX)
		return -EINVAL;
	return qgw_log_foreach(qgw_log_pattern(pattern), set_one, (void *)(uintptr_t)level);
}

void
qgw_log_apply_args(int argc, char *const argv[])
{
	bool any = false;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 1; i < argc; i++) {
			const char *v = NULL;
			char buf[256], *sep;
			int level;

			if (strncmp(argv[i], "--log-level=", 12) == 0)
				v = argv[i] + 12;
			else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc)
				v = argv[++i];
			if (v == NULL || strlen(v) >= sizeof(buf))
				continue;
			snprintf(buf, sizeof(buf), "%s", v);
			sep = strchr(buf, ':');
			if (sep == NULL) /* a global level or TYPE-REGEX,LEVEL: EAL's own */
				continue;
			*sep = '\0';
			if (pass == 0) {
				any |= strcmp(buf, "qinqgw") == 0;
				continue;
			}
			/* In order, so a later qinqgw.port:info still wins over qinqgw:debug. */
			level = qgw_log_parse_level(sep + 1);
			if (level > 0)
				rte_log_set_level_pattern(qgw_log_pattern(buf), (uint32_t)level);
		}
		if (!any)
			return;
	}
}
