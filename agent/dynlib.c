/* SPDX-License-Identifier: Apache-2.0 */
#include "dynlib.h"

#include <dlfcn.h>
#include <errno.h>

int dynlib_load(const char *soname, const char *key, const struct dynlib_sym *syms, size_t n,
                struct tender_error *err) {
        /* RTLD_NODELETE: a client thread's library must not go away under it; loading it a
         * second time (a restart of the feature) only finds it again. */
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!h)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOENT,
                                        "%s is set, but %s cannot be loaded (%s); install it or "
                                        "remove %s",
                                        key, soname, dlerror(), key);
        for (size_t i = 0; i < n; i++)
                if (!dlsym(h, syms[i].name)) {
                        int r = tender_error_set(err, TENDER_ERR_CONFIG, ENOSYS,
                                                 "%s is set, but %s has no %s", key, soname,
                                                 syms[i].name);
                        dlclose(h);
                        return r;
                }
        for (size_t i = 0; i < n; i++)
                *syms[i].slot = dlsym(h, syms[i].name);
        return 0;
}
