/* Names and explanations of the drop reasons, generated from qgw_drop.h. */
#include "qgw_drop.h"

static const char *const drop_names[QGW_DROP__MAX] = {
#define QGW_DROP_NAME(sym, name, help) [QGW_DROP_##sym] = name,
	QGW_DROP_REASONS(QGW_DROP_NAME)
#undef QGW_DROP_NAME
};

static const char *const drop_helps[QGW_DROP__MAX] = {
#define QGW_DROP_HELP(sym, name, help) [QGW_DROP_##sym] = help,
	QGW_DROP_REASONS(QGW_DROP_HELP)
#undef QGW_DROP_HELP
};

const char *
qgw_drop_name(unsigned int reason)
{
	return reason < QGW_DROP__MAX ? drop_names[reason] : "unknown";
}

const char *
qgw_drop_help(unsigned int reason)
{
	return reason < QGW_DROP__MAX ? drop_helps[reason] : "unknown drop reason";
}
