// `npx signalr-graceful emulator` as a user runs it: the package's bin in a child process. It
// prints the connection string and a status URL; an app server linked with that string shows
// up in the status JSON; Ctrl-C (SIGINT) stops it cleanly.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { Hub, MiniServer } from "../../src/testing/index.js";

const BIN = fileURLToPath(new URL("../../bin/signalr-graceful.mjs", import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const s of [child.stdout, child.stderr]) createInterface({ input: s }).on("line", (l) => (lines.push(l), [...waiters].forEach((w) => w())));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => (r(code), [...waiters].forEach((w) => w()))));
  const line = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} in:\n${lines.join("\n")}`)), 15_000);
      const check = () => {
        for (const l of lines) {
          const m = re.exec(l);
          if (m) return (clearTimeout(timer), waiters.delete(check), resolve(m));
        }
        if (child.exitCode !== null) (clearTimeout(timer), reject(new Error(`exited ${child.exitCode}:\n${lines.join("\n")}`)));
      };
      waiters.add(check);
      check();
    });
  return { child, lines, exited, line };
}

it("prints the connection string and a status page, serves a linked app server, stops on Ctrl-C", async () => {
  const emu = run(["emulator", "--port", "0"]);
  const [, connectionString] = await emu.line(/^\s+(Endpoint=http:\/\/127\.0\.0\.1:\d+;AccessKey=\S+;Version=1\.0;)$/);
  const [, statusUrl] = await emu.line(/^Status: (http:\/\/127\.0\.0\.1:\d+\/) /);
  const endpoint = /Endpoint=([^;]+);/.exec(connectionString!)![1]!;
  const accessKey = /AccessKey=([^;]+);/.exec(connectionString!)![1]!;
  const server = await MiniServer.start({ service: { endpoint, accessKey }, id: "app-1", hubs: { chat: class extends Hub {} } });
  await emu.line(/^server linked\s+app-1 \(hub chat\)$/);
  const status = (await (await fetch(`${statusUrl}status.json`)).json()) as { servers: { serverId: string; online: boolean; linkCount: number }[] };
  expect(status.servers).toEqual([expect.objectContaining({ serverId: "app-1", online: true, hubs: ["chat"] })]);
  expect(await (await fetch(statusUrl!)).text()).toContain("<h1>SignalR emulator</h1>");
  await server.kill();
  emu.child.kill("SIGINT");
  expect(await emu.exited).toBe(0);
  expect(emu.lines).toContain("emulator stopped");
}, 30_000);

it("refuses bad arguments with the usage and exit code 2", async () => {
  for (const args of [["emulator", "--port", "99999"], ["serve"], ["emulator", "--access-key", "short"], ["emulator", "--bogus"]]) {
    const r = run(args);
    expect(await r.exited, args.join(" ")).toBe(2);
  }
});
