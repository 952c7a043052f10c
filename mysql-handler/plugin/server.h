/* SPDX-License-Identifier: MIT */
/*
 * Every plugin source includes this first: the server's headers need
 * MYSQL_SERVER before my_global.h, and the plugin must be built against
 * exactly the server it is loaded into (the handlerton interface check is
 * exact; scripts/mariadb-plugin-build checks the installed server too).
 */
#ifndef HA_VAMOS_SERVER_H
#define HA_VAMOS_SERVER_H

#define MYSQL_SERVER 1
#include <my_global.h>
#include <mysql_version.h>

#ifndef VAMOS_EXPECT_MYSQL_VERSION_ID
#define VAMOS_EXPECT_MYSQL_VERSION_ID 101118
#endif
#if MYSQL_VERSION_ID != VAMOS_EXPECT_MYSQL_VERSION_ID
#error "ha_vamos: these MariaDB headers are not the version the plugin is built for (see scripts/mariadb-plugin-build)"
#endif

#include <sql_class.h>
#include <handler.h>

#endif
