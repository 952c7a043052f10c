/* SPDX-License-Identifier: MIT */
/* vamosd scenarios as plain functions (NULL on success, else what went
 * wrong), shared by Criterion and the TSan runner. */
#ifndef VAMOS_TEST_VAMOSD_SCENARIOS_H
#define VAMOS_TEST_VAMOSD_SCENARIOS_H

/* Every channel of 3 VMs, plus 4 stream clients, driven by one thread
 * each at once: @per_channel echo requests each, every reply matched. */
const char *scenario_vamosd_many_clients(unsigned per_channel);

/* One VM's 4 channels kept busy at once by a thread each (@per_channel
 * echo requests, every reply once, in order per channel): vamosd with
 * --pollers 4 serves them with one poller per channel, each of which
 * handled its channel's requests; once they idle, every poller sleeps. */
const char *scenario_vamosd_busy_channels_many_pollers(unsigned per_channel);

/* Two VMs on the host's one poller (--pollers 1): vm1's 4 channels kept
 * busy by a thread each (@per_channel echo requests) while vm0 attaches,
 * is served and leaves, three times; every reply of both comes once. */
const char *scenario_vamosd_vms_share_a_poller(unsigned per_channel);

#endif
