/* SPDX-License-Identifier: MIT */
/* Runs the threaded stream scenarios without Criterion, for ThreadSanitizer
 * builds. */
#include "../common/plain_runner.h"
#include "threaded.h"

int main(void)
{
	return plain_run_all(vsock_threaded, sizeof vsock_threaded / sizeof vsock_threaded[0]);
}
