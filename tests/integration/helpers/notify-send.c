/* SPDX-License-Identifier: Apache-2.0 */
/* A test app's sd_notify: `notify-send LINE... [-- PROGRAM ARG...]` sends the lines as one
 * datagram to $NOTIFY_SOCKET, then execs PROGRAM, so that the sender stays alive (tenderd
 * checks the sender's credentials). Built static by agent-health-signals.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path = getenv("NOTIFY_SOCKET");
        char msg[4096] = "";
        int i = 1;

        if (!path || strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "notify-send: no usable NOTIFY_SOCKET\n");
                return 2;
        }
        strcpy(sa.sun_path, path);
        for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
                if (strlen(msg) + strlen(argv[i]) + 2 > sizeof(msg))
                        return 2;
                strcat(msg, argv[i]);
                strcat(msg, "\n");
        }
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("notify-send");
                return 3;
        }
        close(fd);
        if (i + 1 < argc) {
                execv(argv[i + 1], argv + i + 1);
                perror("notify-send: exec");
                return 127;
        }
        return 0;
}
