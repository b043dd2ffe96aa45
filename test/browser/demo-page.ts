// Drives one tab of the demo chat page through its DOM, the way a person would use it.
// Every wait is on DOM state (locators / waitForFunction), never a fixed sleep.
import type { BrowserContext, Page } from "playwright-core";

export interface ShownMessage {
  id: number;
  user: string;
  text: string;
}

export type ServerAction = "Shut down — WaitForClientsClose" | "Shut down — MigrateClients" | "Kill";

export class DemoPage {
  /** Console errors and uncaught exceptions of this page. */
  readonly errors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on("console", (m) => {
      if (m.type() === "error") this.errors.push(`console.error: ${m.text()}`);
    });
    page.on("pageerror", (e) => this.errors.push(`pageerror: ${e.message}`));
  }

  static async open(context: BrowserContext, url: string, name: string, viewport?: { width: number; height: number }): Promise<DemoPage> {
    const p = new DemoPage(await context.newPage(), name);
    if (viewport) await p.page.setViewportSize(viewport);
    await p.page.goto(url);
    await p.page.fill("#name", name);
    await p.page.getByRole("button", { name: "Join chat" }).click();
    await p.waitConnected();
    return p;
  }

  /** The server the page shows the user is on. */
  async server(): Promise<string> {
    return (await this.page.getAttribute("#server", "data-server")) ?? "";
  }

  /** Waits for state Connected on a known server, other than those in `notOn`. */
  async waitConnected(notOn: string[] = [], timeout = 10_000): Promise<string> {
    await this.page.waitForFunction(
      (excluded) => {
        const server = document.querySelector("#server")?.getAttribute("data-server") ?? "";
        const state = document.querySelector("#state")?.getAttribute("data-state");
        return state === "Connected" && server !== "" && !excluded.includes(server);
      },
      notOn,
      { timeout, polling: 50 },
    );
    return this.server();
  }

  /** Types into the composer without sending. */
  async type(text: string): Promise<void> {
    await this.page.fill("#text", text);
  }

  /** Sends what is in the composer (Enter). */
  async submit(): Promise<void> {
    await this.page.press("#text", "Enter");
  }

  /**
   * Presses Send the moment the connection enters `state` — a person typing mid-transition,
   * made deterministic. Resolves once armed, with `fired` (a promise of the moment it fired:
   * wrapped, since an async function cannot return a bare promise without awaiting it).
   */
  async submitOnState(state: string): Promise<{ fired: Promise<void> }> {
    const handle = await this.page.evaluateHandle((want) => {
      const conn = (window as unknown as { demoConnection: { events: { on(e: string, h: (p: { to: string }) => void): void; off(e: string, h: (p: { to: string }) => void): void } } }).demoConnection;
      // Wrapped in an object: evaluateHandle would otherwise wait for the promise itself.
      const fired = new Promise<void>((resolve) => {
        const h = (p: { to: string }) => {
          if (p.to !== want) return;
          conn.events.off("state", h);
          (document.querySelector("#composer") as HTMLFormElement).requestSubmit();
          resolve();
        };
        conn.events.on("state", h);
      });
      return { fired };
    }, state);
    return { fired: handle.evaluate((o) => o.fired) };
  }

  async send(text: string): Promise<void> {
    await this.type(text);
    await this.submit();
  }

  /** Clicks a button of a server's row in the servers panel. */
  async control(serverId: string, action: ServerAction): Promise<void> {
    await this.page.bringToFront(); // a person clicks in the tab they look at (and background tabs get no frames)
    await this.page.locator(`#server-list li[data-server="${serverId}"]`).getByRole("button", { name: action, exact: true }).click();
  }

  async addServer(): Promise<void> {
    await this.page.bringToFront();
    await this.page.getByRole("button", { name: "Add a server" }).click();
  }

  /** Waits for a server's row in a state (stopped and killed rows sit folded in the summary: attached, maybe hidden). */
  async waitServerRow(serverId: string, state: "running" | "shuttingDown" | "stopped" | "killed"): Promise<void> {
    await this.page.locator(`#server-list li.srv.${state}[data-server="${serverId}"]`).waitFor({ state: "attached" });
  }

  /** The delivered messages, in the order shown. */
  async messages(): Promise<ShownMessage[]> {
    return this.page.$$eval("#messages li.msg", (els) =>
      els.map((el) => ({
        id: Number((el as HTMLElement).dataset.id),
        user: el.querySelector(".user")?.textContent ?? "",
        text: el.querySelector(".body")?.textContent ?? "",
      })),
    );
  }

  /** Waits until every text is shown as a delivered message. */
  async waitForMessages(texts: string[], timeout = 10_000): Promise<void> {
    await this.page.waitForFunction(
      (want) => {
        const shown = new Set([...document.querySelectorAll("#messages li.msg .body")].map((e) => e.textContent));
        return want.every((t) => shown.has(t));
      },
      texts,
      { timeout, polling: 50 },
    );
  }

  /** Waits for a timeline entry of an event whose detail contains `text`. */
  async waitForEvent(event: string, text = "", timeout = 10_000): Promise<void> {
    await this.page.waitForFunction(
      ([ev, t]) => [...document.querySelectorAll(`#timeline li[data-event="${ev}"] .detail`)].some((e) => (e.textContent ?? "").includes(t!)),
      [event, text] as const,
      { timeout, polling: 50 },
    );
  }

  /** The event names in the timeline, in order. */
  async timeline(): Promise<string[]> {
    return this.page.$$eval("#timeline li.ev", (els) => els.map((e) => (e as HTMLElement).dataset.event ?? ""));
  }

  /** Saves a screenshot of the tab as it is (the timeline follows its newest entry). */
  async screenshot(path: string): Promise<void> {
    await this.page.bringToFront();
    await this.page.screenshot({ path });
  }

  /** Whether the newest timeline entry is fully inside the timeline's visible area. */
  async newestTimelineEntryVisible(): Promise<boolean> {
    return this.page.evaluate(() => {
      const box = document.querySelector("#timeline") as HTMLElement;
      const last = box.lastElementChild as HTMLElement | null;
      if (!last) return false;
      const b = box.getBoundingClientRect();
      const r = last.getBoundingClientRect();
      return r.top >= b.top - 1 && r.bottom <= b.bottom + 1 && r.height > 0;
    });
  }

  /** The header's server pill text. */
  async serverLabel(): Promise<string> {
    return (await this.page.textContent("#server")) ?? "";
  }

  /** Console errors other than those the test provoked (each pattern names one). */
  unexpectedErrors(provoked: RegExp[] = []): string[] {
    return this.errors.filter((e) => !provoked.some((p) => p.test(e)));
  }

  /** Messages still waiting in the outbox (not yet confirmed). */
  async outboxSize(): Promise<number> {
    return this.page.locator("#outbox li").count();
  }
}
