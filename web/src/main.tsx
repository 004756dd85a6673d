import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App';
import { applyTheme } from './lib/theme';
import { browserSession } from './session/session';
import { SessionProvider } from './session/context';
import './styles/base.css';

applyTheme();
const session = browserSession();
void session.start();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <SessionProvider session={session}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </SessionProvider>
    </StrictMode>,
  );
}
