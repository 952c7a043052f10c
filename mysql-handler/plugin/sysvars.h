/* SPDX-License-Identifier: MIT */
/* ha_vamos's system variables (defined in sysvars.cc): the plugin
 * declaration lists them, the rest of the plugin reads them here. */
#ifndef HA_VAMOS_SYSVARS_H
#define HA_VAMOS_SYSVARS_H

#include "server.h"
#include "settings.h"

namespace vamos {

/** vamos_lock_wait_timeout of @thd's session, in seconds (1 or more). */
unsigned long lock_wait_timeout(THD *thd);

/** The transport settings the read-only variables hold (plugin init
 *  resolves them against the environment). */
transport_settings *sysvar_transport();

/** Every variable, for the plugin declaration (NULL-terminated). */
extern struct st_mysql_sys_var *vamos_sysvars[];

} // namespace vamos

#endif
