/* Registration of the gateway's log type. */
#include "qgw_log.h"

RTE_LOG_REGISTER(qgw_logtype, qinqgw, INFO);
