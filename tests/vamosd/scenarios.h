/* SPDX-License-Identifier: MIT */
/* vamosd scenarios as plain functions (NULL on success, else what went
 * wrong), shared by Criterion and the TSan runner. */
#ifndef VAMOS_TEST_VAMOSD_SCENARIOS_H
#define VAMOS_TEST_VAMOSD_SCENARIOS_H

/* Every channel of 3 VMs, plus 4 stream clients, driven by one thread
 * each at once: @per_channel echo requests each, every reply matched. */
const char *scenario_vamosd_many_clients(unsigned per_channel);

#endif
