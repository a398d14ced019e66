/* Files for the journal: created private from the start, fsynced, and
 * locked by one process at a time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acc.h"

static int acc_file_errno(lua_State *L, const char *what, const char *path)
{
    int e = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));
    return 2;
}

/* accelerate.create_private(path) -> true | nil, msg.  Creates the file
 * (if missing) readable and writable by its owner only, from the start:
 * no window where another user could open it.  An existing file keeps its
 * mode and content. */
static int acc_file_create_private(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return acc_file_errno(L, "cannot create", path);
    close(fd);
    lua_pushboolean(L, 1);
    return 1;
}

/* The FILE* of an open Lua file handle, or NULL.  Lua 5.2+ keep a
 * luaL_Stream (closed when closef is NULL); 5.1 and LuaJIT a userdata whose
 * first member is the FILE* (NULL once closed). */
static FILE *acc_file_tofile(lua_State *L, int i)
{
#if LUA_VERSION_NUM >= 502
    luaL_Stream *p = (luaL_Stream *)acc_testudata(L, i, LUA_FILEHANDLE);
    return (p != NULL && p->closef != NULL) ? p->f : NULL;
#else
    /* LUA_FILEHANDLE is in lualib.h there; the name is the same */
    FILE **p = (FILE **)acc_testudata(L, i, "FILE*");
    return p != NULL ? *p : NULL;
#endif
}

/* accelerate.fsync(file | path) -> true | nil, msg.  Flushes an open Lua
 * file handle and fsyncs it, or fsyncs the file at path, so that what was
 * written survives a power cut. */
static int acc_file_fsync(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *path = lua_tostring(L, 1);
        int rc, fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            return acc_file_errno(L, "cannot open", path);
        rc = fsync(fd);
        close(fd);
        if (rc != 0)
            return acc_file_errno(L, "cannot fsync", path);
    } else {
        FILE *f = acc_file_tofile(L, 1);
        luaL_argcheck(L, f != NULL, 1, "open file or path expected");
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            return acc_file_errno(L, "cannot fsync", "file");
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* The pid holding a flock on the file of fd, from /proc/locks (Linux), or
 * 0 when it cannot be told. */
static long acc_file_lock_holder(int fd)
{
    struct stat st;
    char line[256];
    long pid = 0;
    FILE *f;

    if (fstat(fd, &st) != 0 || (f = fopen("/proc/locks", "r")) == NULL)
        return 0;
    while (pid == 0 && fgets(line, sizeof line, f) != NULL) {
        long p;
        unsigned long long ino;
        unsigned maj, mnr;
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
        if (strstr(line, "FLOCK") == NULL)
            continue;
        if (sscanf(strstr(line, "FLOCK"), "FLOCK %*s %*s %ld %x:%x:%llu", &p,
                   &maj, &mnr, &ino) == 4 &&
            ino == (unsigned long long)st.st_ino)
            pid = p;
    }
    fclose(f);
    return pid;
}

/* accelerate.lock(file) -> true | nil, msg, holder_pid.  An exclusive,
 * non-blocking flock on an open Lua file, held until that file is closed
 * (or the process ends, however it ends; programs it starts do not
 * inherit it).  flock, not fcntl: a process that reads the same file
 * through another handle keeps its lock. */
static int acc_file_lock(lua_State *L)
{
    FILE *f = acc_file_tofile(L, 1);
    long holder;
    luaL_argcheck(L, f != NULL, 1, "open file expected");
    /* a command the process runs must not inherit (and so keep) the lock */
    fcntl(fileno(f), F_SETFD, fcntl(fileno(f), F_GETFD) | FD_CLOEXEC);
    if (flock(fileno(f), LOCK_EX | LOCK_NB) == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (errno != EWOULDBLOCK) {
        int e = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot lock: %s", strerror(e));
        return 2;
    }
    holder = acc_file_lock_holder(fileno(f));
    lua_pushnil(L);
    lua_pushliteral(L, "locked by another process");
    if (holder > 0)
        lua_pushinteger(L, (lua_Integer)holder);
    else
        lua_pushnil(L);
    return 3;
}

/* accelerate.mkdirs(base, sub) -> true | nil, msg: the folders of sub
 * (a relative path) below base, each created readable by its owner only
 * (a state folder holds records of what a user did).  base must exist:
 * a HOME that does not exist is not created (as root it could be). */
static int acc_file_mkdirs(lua_State *L)
{
    size_t blen, slen, len, i;
    const char *base = luaL_checklstring(L, 1, &blen);
    const char *sub = luaL_checklstring(L, 2, &slen);
    struct stat st;
    char buf[4096];

    if (blen == 0 || slen == 0 || sub[0] == '/' || blen + slen + 1 >= sizeof buf)
        return luaL_argerror(L, 2, "a relative folder path expected");
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s is not a folder", base);
        return 2;
    }
    memcpy(buf, base, blen);
    buf[blen] = '/';
    memcpy(buf + blen + 1, sub, slen + 1);
    len = blen + 1 + slen;
    for (i = blen + 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return acc_file_errno(L, "cannot create", buf);
        buf[i] = i < len ? '/' : '\0';
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Closes the folder a list_dir box holds: its __gc, so that a memory
 * error raised while the names are pushed never leaks the DIR. */
static int acc_file_dir_gc(lua_State *L)
{
    DIR **box = (DIR **)lua_touserdata(L, 1);
    if (box != NULL && *box != NULL) {
        closedir(*box);
        *box = NULL;
    }
    return 0;
}

/* accelerate.list_dir(path) -> {name, ...} | nil, msg.  The entries of a
 * folder but "." and "..", in no particular order: the command finds its
 * command modules so, without a subprocess (which would hold off SIGINT
 * while it runs, and costs a fork at every start). */
static int acc_file_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct dirent *e;
    int n = 0;
    DIR **box = (DIR **)lua_newuserdata(L, sizeof *box);
    *box = NULL;
    if (luaL_newmetatable(L, "accelerate.dir")) {
        lua_pushcfunction(L, acc_file_dir_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    *box = opendir(path);
    if (*box == NULL)
        return acc_file_errno(L, "cannot list", path);
    lua_newtable(L);
    while ((e = readdir(*box)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(*box);
    *box = NULL;
    return 1;
}

const luaL_Reg acc_file_lib[] = {
    {"list_dir", acc_file_list_dir},
    {"mkdirs", acc_file_mkdirs},
    {"create_private", acc_file_create_private},
    {"fsync", acc_file_fsync},
    {"lock", acc_file_lock},
    {NULL, NULL}};
