/* SPDX-License-Identifier: MIT */
/* ha_vamos's session variables, for the rest of the plugin (plugin.cc
 * declares them). */
#ifndef HA_VAMOS_SYSVARS_H
#define HA_VAMOS_SYSVARS_H

#include "server.h"

namespace vamos {

/** vamos_lock_wait_timeout of @thd's session, in seconds (1 or more). */
unsigned long lock_wait_timeout(THD *thd);

} // namespace vamos

#endif
