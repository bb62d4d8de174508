import { useRef } from 'react';
import { openFiles, openSample } from '../../state/actions';
import { readFiles } from '../files';

/** File picker (several files), folder picker, and "Open the sample". */
export function OpenButtons({ compact = false }: { compact?: boolean }) {
  const folderInput = useRef<HTMLInputElement>(null);
  return (
    <div className={`open-buttons${compact ? ' compact' : ''}`}>
      <button type="button" onClick={() => void openSample()}>
        {compact ? 'Sample' : 'Open the sample'}
      </button>
      <label className="button">
        {compact ? 'Files…' : 'Choose files…'}
        <input
          type="file"
          multiple
          aria-label="Choose model files"
          onChange={(e) => {
            const input = e.currentTarget;
            if (input.files?.length)
              void readFiles(input.files)
                .then((f) => openFiles(f))
                .finally(() => (input.value = ''));
          }}
        />
      </label>
      <label className="button">
        {compact ? 'Folder…' : 'Choose a folder…'}
        <input
          ref={folderInput}
          type="file"
          multiple
          aria-label="Choose a model folder"
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => {
            const input = e.currentTarget;
            if (input.files?.length)
              void readFiles(input.files)
                .then((f) => openFiles(f))
                .finally(() => (input.value = ''));
          }}
        />
      </label>
    </div>
  );
}
