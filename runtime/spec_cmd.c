/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tender/oci_spec.h"

int tender_rt_cmd_spec(int argc, char **argv, const struct tender_rt_global *g) {
        if (argc != 1)
                return tender_rt_cli_usage("usage: spec");
        _cleanup_free_ char *text = tender_oci_spec_default();
        if (!text)
                return tender_rt_cli_usage("spec: %s", strerror(ENOMEM));
        _cleanup_close_ int fd =
                open("config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return tender_rt_cli_usage("write config.json: %s", strerror(errno));
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0)
                return tender_rt_cli_usage("write config.json: %s", strerror(errno));
        return 0;
}
