import { Link } from '../router.tsx';

export function NotFoundPage() {
  return (
    <section className="empty-state">
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/incidents">Go to incidents</Link>.
      </p>
    </section>
  );
}
