// Groups and users of one hub, as the service holds them (groups live in the service,
// so a migrated connection keeps its groups).

export class Membership {
  private readonly groups = new Map<string, Set<string>>();
  private readonly users = new Map<string, Set<string>>();
  /** Groups a server put a user in (UserJoinGroup): they apply to the user's later connections too. */
  private readonly userGroups = new Map<string, Set<string>>();

  join(group: string, connectionId: string): void {
    let s = this.groups.get(group);
    if (!s) this.groups.set(group, (s = new Set()));
    s.add(connectionId);
  }

  leave(group: string, connectionId: string): void {
    const s = this.groups.get(group);
    if (!s) return;
    s.delete(connectionId);
    if (s.size === 0) this.groups.delete(group);
  }

  members(group: string): ReadonlySet<string> {
    return this.groups.get(group) ?? new Set();
  }

  addUser(userId: string, connectionId: string): void {
    let s = this.users.get(userId);
    if (!s) this.users.set(userId, (s = new Set()));
    s.add(connectionId);
  }

  removeUser(userId: string, connectionId: string): void {
    const s = this.users.get(userId);
    if (!s) return;
    s.delete(connectionId);
    if (s.size === 0) this.users.delete(userId);
  }

  connectionsOf(userId: string): ReadonlySet<string> {
    return this.users.get(userId) ?? new Set();
  }

  addUserToGroup(userId: string, group: string): void {
    let s = this.userGroups.get(userId);
    if (!s) this.userGroups.set(userId, (s = new Set()));
    s.add(group);
  }

  removeUserFromGroup(userId: string, group: string): void {
    const s = this.userGroups.get(userId);
    if (!s) return;
    s.delete(group);
    if (s.size === 0) this.userGroups.delete(userId);
  }

  groupsOfUser(userId: string): ReadonlySet<string> {
    return this.userGroups.get(userId) ?? new Set();
  }
}
