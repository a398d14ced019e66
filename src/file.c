/* Files for the journal: created private from the start, and fsynced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

const luaL_Reg acc_file_lib[] = {
    {"create_private", acc_file_create_private},
    {"fsync", acc_file_fsync},
    {NULL, NULL}};
