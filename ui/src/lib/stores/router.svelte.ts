// Which screen is shown. No URL routing: the desktop app has one window.

export type Route =
  | { screen: "projects" }
  | { screen: "logs"; project: string; service: string | null }
  | { screen: "realtime"; project: string }
  | { screen: "settings" };

class Router {
  route = $state<Route>({ screen: "projects" });

  go(r: Route): void {
    this.route = r;
  }
}

export const router = new Router();
